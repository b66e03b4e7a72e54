import type { VoiceStatus } from '../../src-shared/contract/index.js';
import { useVoice } from '../state/voiceStoreContext.dom.js';
import { WhisperModelOffer } from './WhisperModelOffer.dom.js';

type EngineStatus = VoiceStatus['stt'];

function EnginePill({ role, status }: { role: string; status: EngineStatus }) {
  return (
    <span className={`engine-pill engine-pill--${status.state}`} data-engine={role} data-state={status.state} title={status.message}>
      {role}: {status.engine ?? 'none'} {status.state}
    </span>
  );
}

/** Which speech engines the agent has loaded, and what is wrong with those it has not. */
export function VoiceStatusLine() {
  const status = useVoice((state) => state.status);
  if (!status) return null;
  const engines: Array<[string, EngineStatus]> = [
    ['speech-to-text', status.stt],
    ['voice', status.tts],
    ['speech detection', status.vad],
  ];
  const problems = engines.filter(([, engine]) => engine.message && engine.state !== 'ready');
  return (
    <div className="voice-status" data-testid="voice-status">
      <div className="voice-status-pills">
        {engines.map(([role, engine]) => (
          <EnginePill key={role} role={role} status={engine} />
        ))}
      </div>
      {problems.map(([role, engine]) => (
        <p key={role} className="voice-status-message" data-testid="voice-status-message">
          {role}: {engine.message}
        </p>
      ))}
    </div>
  );
}

/** A stable empty list: a selector returning a fresh `[]` on every call would re-render forever. */
const NO_VOICES: string[] = [];

/** The voice the answers are spoken with (the agent's built-in voices, plus the platform's own) and the speaking rate. */
export function VoiceSettingsPanel() {
  const settings = useVoice((state) => state.settings);
  const builtInVoices = useVoice((state) => state.status?.tts.voices ?? NO_VOICES);
  const systemVoices = useVoice((state) => state.systemVoices);
  const configure = useVoice((state) => state.configure);
  const disabled = useVoice((state) => state.status === null);
  const knownVoice = builtInVoices.includes(settings.voice) || systemVoices.some((voice) => voice.id === settings.voice);

  return (
    <details className="voice-settings" data-testid="voice-settings">
      <summary>Voice settings</summary>
      <label className="voice-setting">
        <span>Voice</span>
        <select
          data-testid="voice-select"
          value={settings.voice}
          disabled={disabled}
          onChange={(event) => void configure({ voice: event.target.value })}
        >
          {!knownVoice && <option value={settings.voice}>{settings.voice}</option>}
          <optgroup label="Built-in">
            {builtInVoices.map((voice) => (
              <option key={voice} value={voice}>
                {voice.replace(/^flite:/, '')}
              </option>
            ))}
          </optgroup>
          {systemVoices.length > 0 && (
            <optgroup label="This computer">
              {systemVoices.map((voice) => (
                <option key={voice.id} value={voice.id}>
                  {voice.name} ({voice.lang})
                </option>
              ))}
            </optgroup>
          )}
        </select>
      </label>
      <label className="voice-setting">
        <span>Rate {settings.rate.toFixed(1)}×</span>
        <input
          type="range"
          data-testid="voice-rate"
          min={0.5}
          max={2}
          step={0.1}
          value={settings.rate}
          disabled={disabled}
          onChange={(event) => void configure({ rate: Number(event.target.value) })}
        />
      </label>
      <WhisperModelOffer />
    </details>
  );
}
