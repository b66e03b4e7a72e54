import path from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { AgentError } from '../../../src-shared/contract/index.js';
import { findExecutable } from './sphinxTranscriber.node.js';
import { createSpeechTranscriber } from './speechTranscriberFactory.node.js';

const absentModel = path.join(tmpdir(), 'no-such-dir', 'ggml-base.en.bin');

describe('createSpeechTranscriber', () => {
  it('fails for whisper with a message naming the missing model', () => {
    const error = (() => {
      try {
        createSpeechTranscriber({ engine: 'whisper', whisperModel: absentModel });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(AgentError);
    expect(error).toMatchObject({ code: 'MODEL_MISSING', message: expect.stringContaining(absentModel) });
  });

  it.skipIf(findExecutable('pocketsphinx_continuous') === undefined)('falls back to PocketSphinx on Linux when the Whisper model is missing', () => {
    expect(createSpeechTranscriber({ engine: 'auto', whisperModel: absentModel, platform: 'linux' }).engine).toBe('sphinx');
  });

  it('says how to get a recogniser when neither is available', () => {
    expect(() => createSpeechTranscriber({ engine: 'auto', whisperModel: absentModel, platform: 'darwin' })).toThrow(
      expect.objectContaining({ code: 'STT_UNAVAILABLE', message: expect.stringMatching(/does not exist[\s\S]*apt-get install pocketsphinx/) }),
    );
  });

  it('builds the engine asked for', () => {
    expect(createSpeechTranscriber({ engine: 'sphinx' }).engine).toBe('sphinx');
  });
});
