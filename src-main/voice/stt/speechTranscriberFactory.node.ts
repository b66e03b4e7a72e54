import { availableParallelism } from 'node:os';
import { AgentError } from '../../../src-shared/contract/index.js';
import { resolveDefaultModel, resolveModelPath } from '../../models/modelResolver.node.js';
import { existsSync } from 'node:fs';
import { sphinxStreamHelperPath } from './sphinxDecoderProcess.node.js';
import { findExecutable, SPHINX_BINARY, SphinxTranscriber } from './sphinxTranscriber.node.js';
import type { SpeechTranscriber, SttEngine } from './speechTranscriber.js';
import { WhisperTranscriber } from './whisperTranscriber.node.js';

export type SttChoice = SttEngine | 'auto';

export interface SpeechTranscriberConfig {
  engine: SttChoice;
  /** A Whisper model id or file; default: the manifest's default, found via ASSISTANT_WHISPER_MODEL or the models dirs. */
  whisperModel?: string;
  /** Whisper decoding threads; default: up to 4 of the machine's cores. */
  threads?: number;
  sphinxBinary?: string;
  /** Whisper: ms of new audio between interim decodes of the open tail; 0 = none. Default 1000. */
  partialTranscriptMs?: number;
  /** PocketSphinx: where its cepstral mean (adapted to the user's microphone) is kept between sessions. */
  sphinxMeanFile?: string;
  /** For tests; defaults to process.platform. */
  platform?: NodeJS.Platform;
}

/**
 * Picks the recogniser. 'auto' prefers Whisper when its model is on disk, then PocketSphinx on Linux
 * when installed; otherwise it fails with one message that says how to get either.
 * Returns the engine unloaded: call `load()` where the latency is acceptable.
 */
export function createSpeechTranscriber(config: SpeechTranscriberConfig): SpeechTranscriber {
  const threads = config.threads ?? Math.min(4, availableParallelism());
  const resolveWhisper = () => (config.whisperModel === undefined ? resolveDefaultModel('stt-whisper') : resolveModelPath(config.whisperModel));
  const sphinxOptions = {
    ...(config.sphinxBinary !== undefined && { binary: config.sphinxBinary }),
    ...(config.sphinxMeanFile !== undefined && { meanFile: config.sphinxMeanFile }),
  };
  const partialEveryMs = config.partialTranscriptMs === undefined ? undefined : config.partialTranscriptMs <= 0 ? Infinity : config.partialTranscriptMs;
  const whisperOptions = partialEveryMs === undefined ? {} : { segmentation: { partialEveryMs } };

  switch (config.engine) {
    case 'whisper': {
      const whisper = resolveWhisper();
      if (!whisper.found) throw new AgentError('MODEL_MISSING', whisper.message);
      return new WhisperTranscriber({ modelPath: whisper.path, threads, ...whisperOptions });
    }
    case 'sphinx':
      return new SphinxTranscriber(sphinxOptions);
    case 'auto': {
      const whisper = resolveWhisper();
      if (whisper.found) return new WhisperTranscriber({ modelPath: whisper.path, threads, ...whisperOptions });
      const sphinxBinary = config.sphinxBinary ?? SPHINX_BINARY;
      if ((config.platform ?? process.platform) === 'linux' && (findExecutable(sphinxBinary) !== undefined || existsSync(sphinxStreamHelperPath()))) {
        return new SphinxTranscriber(sphinxOptions);
      }
      throw new AgentError(
        'STT_UNAVAILABLE',
        `No speech recogniser is available. ${whisper.message}\n` +
          'On Linux, PocketSphinx also works as a fallback: sudo apt-get install pocketsphinx pocketsphinx-en-us',
      );
    }
  }
}
