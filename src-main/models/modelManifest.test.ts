import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelRole, parseModelManifest, type ModelManifestEntry } from './modelManifest.js';
import { loadModelManifest, modelManifestPath } from './modelManifest.node.js';
import { projectRoot, sharedModelsDir } from './projectPaths.node.js';

const validEntry: ModelManifestEntry = {
  id: 'example',
  role: 'vad',
  file: 'vad/example.bin',
  url: 'https://example.org/example.bin',
  sizeBytes: 10,
  sha256: 'a'.repeat(64),
  license: 'MIT',
  description: 'An example.',
};

describe('models/manifest.json', () => {
  const manifest = loadModelManifest();

  it('is found at <project>/models/manifest.json from this source file', () => {
    expect(existsSync(path.join(projectRoot(), 'package.json'))).toBe(true);
    expect(modelManifestPath()).toBe(path.join(projectRoot(), 'models', 'manifest.json'));
  });

  it('has unique ids and exactly one user default per role, none of them test-only', () => {
    const ids = manifest.map((entry) => entry.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const role of ModelRole.options) {
      const defaults = manifest.filter((entry) => entry.role === role && entry.default);
      expect(defaults, `default for ${role}`).toHaveLength(1);
      expect(defaults[0]?.testOnly).toBeUndefined();
    }
  });

  it('gives every model a checksum to verify downloads against', () => {
    for (const entry of manifest) {
      expect(entry.sha256 ?? entry.sha1, entry.id).toBeTruthy();
    }
  });

  it.each([
    ['stories260k', 'llm/stories260K.gguf'],
    ['silero-vad', 'vad/silero-v6.2.0-ggml.bin'],
  ])('matches the real shared file for %s (size and sha256 computed here)', (id, file) => {
    const entry = manifest.find((model) => model.id === id);
    const sharedFile = path.join(sharedModelsDir(), file);
    expect(entry?.file).toBe(file);
    expect(entry?.sizeBytes).toBe(statSync(sharedFile).size);
    expect(entry?.sha256).toBe(createHash('sha256').update(readFileSync(sharedFile)).digest('hex'));
  });
});

describe('parseModelManifest', () => {
  it('accepts a valid entry', () => {
    expect(parseModelManifest([validEntry], 'test')).toEqual([validEntry]);
  });

  it.each([
    ['a duplicate id', [validEntry, validEntry], 'duplicate model id "example"'],
    ['a path escaping the models dir', [{ ...validEntry, file: '../outside.bin' }], 'relative path inside the models dir'],
    ['an absolute path', [{ ...validEntry, file: '/etc/passwd' }], 'relative path inside the models dir'],
    ['a short sha256', [{ ...validEntry, sha256: 'abc' }], '64 lowercase hex'],
    ['a non-http url', [{ ...validEntry, url: 'file:///tmp/x.bin' }], 'Invalid URL'],
    ['an unknown field', [{ ...validEntry, checksum: 'x' }], 'checksum'],
    ['two defaults for a role', [{ ...validEntry, default: true }, { ...validEntry, id: 'other', default: true }], 'at most one'],
    ['a test-only default', [{ ...validEntry, default: true, testOnly: true }], 'test-only'],
  ])('rejects %s, naming the problem and the source', (_, raw, problem) => {
    expect(() => parseModelManifest(raw, 'models/manifest.json')).toThrow(/models\/manifest\.json/);
    expect(() => parseModelManifest(raw, 'models/manifest.json')).toThrow(problem);
  });

  it('allows a null sha256 (unverifiable upstream file)', () => {
    expect(parseModelManifest([{ ...validEntry, sha256: null }], 'test')[0]?.sha256).toBeNull();
  });
});
