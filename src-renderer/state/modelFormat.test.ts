import { describe, expect, it } from 'vitest';
import type { CatalogModel } from '../../src-shared/contract/index.js';
import { downloadView, formatBytes, formatTimeLeft, modelDisplayName, percentDone } from './modelFormat.js';

const model = (overrides: Partial<CatalogModel> = {}): CatalogModel => ({
  id: 'whisper-base-en',
  role: 'stt-whisper',
  source: 'manifest',
  description: "Whisper base.en in whisper.cpp's ggml format. Good English accuracy.",
  license: 'MIT',
  sizeBytes: 147_964_211,
  state: 'missing',
  isDefault: true,
  testOnly: false,
  ...overrides,
});

describe('model sizes, speed and time left as a user reads them', () => {
  it('shows sizes with at most three significant figures', () => {
    expect(formatBytes(1_185_376)).toBe('1.1 MB');
    expect(formatBytes(147_964_211)).toBe('141 MB');
    expect(formatBytes(491_400_032)).toBe('469 MB');
    expect(formatBytes(2_019_393_189)).toBe('1.9 GB');
    expect(formatBytes(512)).toBe('512 bytes');
  });

  it('says how long is left from the speed, and nothing while the speed is unknown', () => {
    expect(formatTimeLeft(0, 100_000_000, 10_000_000)).toBe('10 s left');
    expect(formatTimeLeft(0, 491_400_032, 2_000_000)).toBe('about 4 min left');
    expect(formatTimeLeft(0, 491_400_032, 0)).toBeNull();
    expect(formatTimeLeft(10, null, 5)).toBeNull();
  });

  it('never shows more than 100 % or a percentage of an unknown size', () => {
    expect(percentDone(50, 200)).toBe(25);
    expect(percentDone(300, 200)).toBe(100);
    expect(percentDone(5, null)).toBeNull();
  });
});

describe('model names', () => {
  it("takes the description's lead phrase, else the id", () => {
    expect(modelDisplayName(model())).toBe('Whisper base.en');
    expect(modelDisplayName(model({ description: 'Qwen2.5 0.5B Instruct, Q4_K_M GGUF from the official Qwen repo.' }))).toBe('Qwen2.5 0.5B Instruct');
    expect(modelDisplayName(model({ id: 'stories260k', description: 'TinyStories llama model with 260K parameters (karpathy/tinyllamas).' }))).toBe(
      'stories260k',
    );
    expect(modelDisplayName(model({ id: 'llama3.2:latest', source: 'ollama', description: 'Installed in Ollama' }))).toBe('llama3.2:latest');
  });
});

describe('what a download looks like', () => {
  it('prefers the live progress, and falls back to what is on disk for a download seen only in the catalog', () => {
    const live = { type: 'model-progress', id: 'whisper-base-en', receivedBytes: 10, totalBytes: 100, bytesPerSecond: 5, state: 'downloading' } as const;
    expect(downloadView(model({ state: 'downloading', receivedBytes: 3 }), live)).toMatchObject({ receivedBytes: 10, bytesPerSecond: 5 });
    expect(downloadView(model({ state: 'downloading', receivedBytes: 3 }), undefined)).toMatchObject({ receivedBytes: 3, totalBytes: 147_964_211 });
    expect(downloadView(model({ state: 'ready' }), undefined)).toBeNull();
  });
});
