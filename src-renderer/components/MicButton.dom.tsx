import type { PointerEvent } from 'react';
import { useVoice } from '../state/voiceStoreContext.dom.js';

/** Press and hold to talk (push-to-talk); in hands-free mode it interrupts the answer. */
export function MicButton() {
  const pressTalk = useVoice((state) => state.pressTalk);
  const releaseTalk = useVoice((state) => state.releaseTalk);
  const talkHeld = useVoice((state) => state.talkHeld);
  const handsFree = useVoice((state) => state.settings.mode === 'hands-free');
  const muted = useVoice((state) => state.settings.muted);
  const answering = useVoice((state) => state.voiceState === 'thinking' || state.voiceState === 'speaking' || state.playing);
  const usable = useVoice((state) => state.status !== null && state.mic.state === 'ready');

  const onPointerDown = (event: PointerEvent<HTMLButtonElement>) => {
    if (event.button !== 0) return;
    // Keep receiving the release even if the pointer leaves the button while held.
    event.currentTarget.setPointerCapture(event.pointerId);
    pressTalk();
  };

  let label = talkHeld ? 'Listening… release to send' : 'Hold to talk (Space)';
  if (handsFree) label = answering ? 'Interrupt' : muted ? 'Muted' : 'Just speak';
  return (
    <button
      type="button"
      className={`mic-button${talkHeld ? ' mic-button--held' : ''}`}
      data-testid="mic-button"
      aria-pressed={talkHeld}
      disabled={!usable || (handsFree && !answering)}
      onPointerDown={onPointerDown}
      onPointerUp={releaseTalk}
      onPointerCancel={releaseTalk}
      onContextMenu={(event) => event.preventDefault()}
    >
      <MicIcon />
      {label}
    </button>
  );
}

function MicIcon() {
  return (
    <svg className="mic-button-icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
      <path
        fill="currentColor"
        d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-3.08A7 7 0 0 0 19 11h-2z"
      />
    </svg>
  );
}

/** Decibels shown by the meter: -60 dBFS (empty) to 0 dBFS (full). */
const METER_FLOOR_DB = -60;

export function LevelMeter() {
  const level = useVoice((state) => state.micLevel);
  const micState = useVoice((state) => state.mic.state);
  const ready = micState === 'ready';
  const db = level > 0 ? 20 * Math.log10(level) : METER_FLOOR_DB;
  const fill = Math.max(0, Math.min(1, (db - METER_FLOOR_DB) / -METER_FLOOR_DB));
  return (
    <div
      className="level-meter"
      data-testid="mic-level"
      data-state={micState}
      data-level={level.toFixed(4)}
      role="meter"
      aria-label="Microphone level"
      aria-valuemin={0}
      aria-valuemax={1}
      aria-valuenow={ready ? fill : 0}
    >
      <div className="level-meter-fill" style={{ width: `${ready ? fill * 100 : 0}%` }} />
    </div>
  );
}
