import type { VoiceStatus } from '../../src-shared/contract/index.js';
import { describeEndSilence, endSilenceChoices } from '../state/voiceFormat.js';
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

/**
 * The voice the answers are spoken with (the agent's built-in voices, plus the platform's own), the speaking rate,
 * and when a hands-free turn ends: the end-of-speech silence, whether it adapts to the words, and whether the answer
 * may start during a pause.
 */
export function VoiceSettingsPanel() {
  const settings = useVoice((state) => state.settings);
  const endSilence = useVoice((state) => state.status?.endSilence);
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
      <label className="voice-setting">
        <span>End of speech</span>
        <select
          data-testid="voice-end-silence-ms"
          value={settings.endSilenceMs}
          disabled={disabled}
          onChange={(event) => void configure({ endSilenceMs: Number(event.target.value) })}
        >
          {endSilenceChoices(settings.endSilenceMs).map((ms) => (
            <option key={ms} value={ms}>
              {ms} ms of silence
            </option>
          ))}
        </select>
      </label>
      <label className="voice-setting" title='Waits less after a complete question, and longer after "and", "the" or "um".'>
        <input
          type="checkbox"
          data-testid="voice-adaptive-end"
          checked={settings.adaptiveEndSilence}
          disabled={disabled}
          onChange={(event) => void configure({ adaptiveEndSilence: event.target.checked })}
        />
        <span>Adaptive end of turn</span>
      </label>
      <label className="voice-setting" title="Prepares the answer during a pause in your speech; if you go on, it is thrown away.">
        <input
          type="checkbox"
          data-testid="voice-speculative"
          checked={settings.speculativeTurns}
          disabled={disabled}
          onChange={(event) => void configure({ speculativeTurns: event.target.checked })}
        />
        <span>Start answering early</span>
      </label>
      <p className="voice-setting" data-testid="voice-end-silence">
        {describeEndSilence(settings, endSilence)}
      </p>
      <WhisperModelOffer />
    </details>
  );
}
