import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentError } from '../../../src-shared/contract/index.js';
import { readWavFile } from '../audio/wavReader.node.js';
import { SegmentedRecognitionStream } from './segmentedRecognitionStream.js';
import { transcribeWhole, type PartialTranscript } from './speechTranscriber.js';
import { WhisperTranscriber } from './whisperTranscriber.node.js';

const JFK_WAV = path.resolve(import.meta.dirname, '../../../../shared/audio/jfk.wav');
const workDir = mkdtempSync(path.join(tmpdir(), 'whisper-transcriber-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

async function loadError(modelPath: string): Promise<AgentError> {
  const transcriber = new WhisperTranscriber({ modelPath, threads: 1 });
  const error = await transcriber.load().catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(AgentError);
  return error as AgentError;
}

describe('WhisperTranscriber model errors', () => {
  it('names a model path that does not exist', async () => {
    const missing = path.join(workDir, 'ggml-base.en.bin');
    const error = await loadError(missing);
    expect(error.code).toBe('MODEL_MISSING');
    expect(error.message).toContain(missing);
    expect(error.message).toContain('models pull');
  });

  it('names a directory given as the model, suggesting the .bin inside it', async () => {
    const models = path.join(workDir, 'whisper-models');
    mkdirSync(models);
    const empty = await loadError(models);
    expect(empty.code).toBe('MODEL_MISSING');
    expect(empty.message).toContain(`${models} is a directory (with no .bin file in it)`);
    expect(empty.message).not.toContain('does not exist');
    writeFileSync(path.join(models, 'ggml-base.en.bin'), 'x');
    const withModel = await loadError(`${models}/`);
    expect(withModel.message).toContain(`is a directory; ASSISTANT_WHISPER_MODEL needs a whisper.cpp ggml .bin file, e.g. ${path.join(models, 'ggml-base.en.bin')}`);
    expect(withModel.message).toContain('models pull whisper-base-en');
  });

  it('names a placeholder file that is not a ggml model', async () => {
    const placeholder = path.join(workDir, 'placeholder.bin');
    writeFileSync(placeholder, 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 147964211\n');
    const error = await loadError(placeholder);
    expect(error.code).toBe('MODEL_CORRUPT');
    expect(error.message).toContain(placeholder);
  });

  it('names a damaged model whose header looks right but whose body is garbage', async () => {
    const damaged = path.join(workDir, 'damaged.bin');
    const bytes = Buffer.alloc(2 * 1024 * 1024, 0x5a);
    bytes.writeUInt32LE(0x67676d6c, 0);
    writeFileSync(damaged, bytes);
    const error = await loadError(damaged);
    expect(error.code).toBe('MODEL_CORRUPT');
    expect(error.message).toContain(damaged);
  });
});

const realModel = process.env.ASSISTANT_WHISPER_MODEL;
if (!realModel) console.warn('Skipping Whisper recognition of jfk.wav: set ASSISTANT_WHISPER_MODEL to real ggml Whisper weights (none exist on this machine).');

describe.skipIf(!realModel)('WhisperTranscriber with real weights', () => {
  it('recognises jfk.wav', async () => {
    const transcriber = new WhisperTranscriber({ modelPath: realModel!, threads: 2 });
    try {
      await transcriber.load();
      const transcript = await transcribeWhole(transcriber, (await readWavFile(JFK_WAV)).samples);
      expect(transcript.noSpeech).toBe(false);
      expect(transcript.text.toLowerCase()).toContain('ask not');
      expect(transcript.text.toLowerCase()).toContain('country');
    } finally {
      await transcriber.dispose();
    }
  }, 300_000);

  it('hears no speech in silence and low hiss', async () => {
    const transcriber = new WhisperTranscriber({ modelPath: realModel!, threads: 2 });
    try {
      const hiss = Int16Array.from({ length: 48_000 }, () => Math.round((Math.random() - 0.5) * 400)); // about -45 dBFS
      expect((await transcribeWhole(transcriber, new Int16Array(48_000))).noSpeech).toBe(true);
      expect((await transcribeWhole(transcriber, hiss)).noSpeech).toBe(true);
    } finally {
      await transcriber.dispose();
    }
  }, 300_000);

  it('recognises jfk.wav while it is spoken: interim text first, committed words never change', async () => {
    const transcriber = new WhisperTranscriber({ modelPath: realModel!, threads: 2 });
    try {
      await transcriber.load();
      const audio = (await readWavFile(JFK_WAV)).samples;
      const stream = transcriber.stream();
      expect(stream).toBeInstanceOf(SegmentedRecognitionStream);
      const partials: PartialTranscript[] = [];
      stream.onPartial((partial) => partials.push(partial));
      // 20 ms frames, each once recognition has caught up: a live speaker whose engine keeps up.
      for (let at = 0; at < audio.length; at += 320) {
        stream.push(audio.subarray(at, at + 320));
        await (stream as SegmentedRecognitionStream).caughtUp();
      }
      const calledFinishAt = stream.partial().heardMs;
      const transcript = await stream.finish();
      expect(calledFinishAt).toBeGreaterThan(0); // phrases were recognised before the end
      expect(transcript.text.toLowerCase()).toContain('ask not');
      expect(transcript.text.toLowerCase()).toContain('country');
      expect(partials.some((partial) => partial.stable !== '')).toBe(true);
      for (const [index, partial] of partials.entries()) {
        expect(partial.text.startsWith(partial.stable)).toBe(true);
        if (index > 0) expect(partial.stable.startsWith(partials[index - 1]!.stable)).toBe(true);
      }
    } finally {
      await transcriber.dispose();
    }
  }, 300_000);
});
