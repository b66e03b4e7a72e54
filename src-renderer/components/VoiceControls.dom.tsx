import type { VoiceState } from '../../src-shared/contract/index.js';
import { useVoice } from '../state/voiceStoreContext.dom.js';

const STATE_LABELS: Record<VoiceState, string> = {
  idle: 'Ready',
  listening: 'Listening',
  transcribing: 'Transcribing…',
  thinking: 'Thinking…',
  speaking: 'Speaking',
};

export function VoiceStateBadge() {
  const state = useVoice((store) => store.voiceState);
  const handsFree = useVoice((store) => store.settings.mode === 'hands-free');
  const label = state === 'idle' && handsFree ? 'Waiting for speech' : STATE_LABELS[state];
  return (
    <span className={`voice-state voice-state--${state}`} data-testid="voice-state" data-state={state} role="status">
      {label}
    </span>
  );
}

export function ModeToggle() {
  const mode = useVoice((state) => state.settings.mode);
  const configure = useVoice((state) => state.configure);
  const disabled = useVoice((state) => state.status === null);
  const handsFree = mode === 'hands-free';
  return (
    <button
      type="button"
      className="button button--small"
      data-testid="voice-mode"
      data-mode={mode}
      role="switch"
      aria-checked={handsFree}
      disabled={disabled}
      title="Push-to-talk: hold Space or the mic button. Hands-free: the assistant listens for speech."
      onClick={() => void configure({ mode: handsFree ? 'push-to-talk' : 'hands-free' })}
    >
      Mode: {handsFree ? 'hands-free' : 'push-to-talk'}
    </button>
  );
}

export function MuteButton() {
  const muted = useVoice((state) => state.settings.muted);
  const configure = useVoice((state) => state.configure);
  const disabled = useVoice((state) => state.status === null);
  return (
    <button
      type="button"
      className={`button button--small${muted ? ' button--danger' : ''}`}
      data-testid="mute-button"
      aria-pressed={muted}
      disabled={disabled}
      onClick={() => void configure({ muted: !muted })}
    >
      {muted ? 'Unmute mic' : 'Mute mic'}
    </button>
  );
}

/** Why speaking to the assistant does not work here; typing still does. */
export function VoiceUnavailableNotice() {
  const mic = useVoice((state) => state.mic);
  const voiceOff = useVoice((state) => state.unavailableReason);
  if (voiceOff !== null) {
    return (
      <p className="voice-unavailable" data-testid="voice-unavailable" role="status">
        Voice is unavailable: {voiceOff} Text chat still works.
      </p>
    );
  }
  if (mic.state !== 'unavailable') return null;
  return (
    <p className="voice-unavailable" data-testid="mic-unavailable" role="alert">
      Microphone unavailable: {mic.reason}. Text chat still works.
    </p>
  );
}

export function LiveTranscript() {
  const transcript = useVoice((state) => state.transcript);
  if (!transcript) return null;
  return (
    <p className={`live-transcript${transcript.final ? '' : ' live-transcript--partial'}`} data-testid="live-transcript" data-final={transcript.final}>
      {transcript.text === '' ? (transcript.final ? 'No speech recognised.' : '…') : `“${transcript.text}”`}
    </p>
  );
}
