import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveAgentConfig } from '../agent/agentConfig.node.js';
import { tempDataDir } from '../testing/agentTestSupport.js';
import { realVoiceEngines } from './realVoiceEngines.node.js';
import { findExecutable, SPHINX_BINARY } from './stt/sphinxTranscriber.node.js';
import { VoiceEngineLoader } from './voiceEngines.js';

const sphinxInstalled = process.platform === 'linux' && findExecutable(SPHINX_BINARY) !== undefined;
if (!sphinxInstalled) console.warn('Skipping the speech-to-text fallback test: PocketSphinx is not installed (apt-get install pocketsphinx pocketsphinx-en-us).');

describe('speech-to-text "auto" with a Whisper model that does not load (real engines)', () => {
  it.skipIf(!sphinxInstalled)('falls back to PocketSphinx, ready, and says why', async () => {
    const damaged = path.join(tempDataDir(), 'ggml-base.en.bin');
    writeFileSync(damaged, Buffer.alloc(4096, 7));
    const config = resolveAgentConfig({ dataDir: tempDataDir(), voice: { enabled: true, stt: 'auto', whisperModel: damaged } }, {});
    const engines = realVoiceEngines(config);
    const loader = new VoiceEngineLoader({ ...engines, loadVad: () => Promise.reject(new Error('not needed here')) });
    await loader.load({ endSilenceMs: 500, minSpeechMs: 250 } as Parameters<VoiceEngineLoader['load']>[0]);
    expect(loader.status.stt).toMatchObject({ state: 'ready', engine: 'sphinx' });
    expect(loader.status.stt.message).toContain(damaged);
    await loader.dispose();
  });

  it('with whisper chosen explicitly there is no fallback: the error stays', async () => {
    const damaged = path.join(tempDataDir(), 'ggml-base.en.bin');
    writeFileSync(damaged, Buffer.alloc(4096, 7));
    const config = resolveAgentConfig({ dataDir: tempDataDir(), voice: { enabled: true, stt: 'whisper', whisperModel: damaged } }, {});
    const engines = realVoiceEngines(config);
    const loader = new VoiceEngineLoader({ ...engines, loadVad: () => Promise.reject(new Error('not needed here')) });
    await loader.load({ endSilenceMs: 500, minSpeechMs: 250 } as Parameters<VoiceEngineLoader['load']>[0]);
    expect(loader.status.stt.state).toBe('error');
    await loader.dispose();
  });
});
