import path from 'node:path';
import { AgentError } from '../../src-shared/contract/index.js';
import type { AgentConfig } from '../agent/agentConfig.node.js';
import { resolveDefaultModel } from '../models/modelResolver.node.js';
import { createSpeechTranscriber } from './stt/speechTranscriberFactory.node.js';
import { findExecutable, SPHINX_BINARY, SphinxTranscriber } from './stt/sphinxTranscriber.node.js';
import { FliteSpeechSynthesizer } from './tts/fliteSpeechSynthesizer.node.js';
import { SileroVad } from './vad/sileroVad.node.js';
import type { VoiceEngines } from './voiceEngines.js';

/** The real voice engines for a config: Silero VAD, Whisper or PocketSphinx, and the built-in flite voice. */
export function realVoiceEngines(config: AgentConfig): VoiceEngines {
  return {
    loadVad: (turnTaking) => {
      const vad = resolveDefaultModel('vad');
      if (!vad.found) throw new AgentError('MODEL_MISSING', vad.message);
      return SileroVad.load({ modelPath: vad.path, turnTaking });
    },
    createTranscriber: () =>
      createSpeechTranscriber({
        engine: config.voice.stt,
        ...(config.voice.whisperModel !== undefined && { whisperModel: config.voice.whisperModel }),
        ...(config.voice.sttThreads !== undefined && { threads: config.voice.sttThreads }),
        partialTranscriptMs: config.voice.partialTranscriptMs === 'auto' ? 1000 : config.voice.partialTranscriptMs,
        sphinxMeanFile: sphinxMeanFile(config),
      }),
    // `auto` with a Whisper model that does not load (damaged, or a saved choice gone bad): PocketSphinx, if installed.
    createFallbackTranscriber: () => {
      if (config.voice.stt !== 'auto' || process.platform !== 'linux' || findExecutable(SPHINX_BINARY) === undefined) return undefined;
      return new SphinxTranscriber({ meanFile: sphinxMeanFile(config) });
    },
    synthesizer: new FliteSpeechSynthesizer(),
  };
}

/** PocketSphinx's cepstral mean, adapted to the user's microphone, kept for the next session. */
function sphinxMeanFile(config: AgentConfig): string {
  return path.join(config.dataDir, 'voice', 'sphinx-cepstral-mean.txt');
}
