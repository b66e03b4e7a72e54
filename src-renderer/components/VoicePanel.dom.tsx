import { useVoice } from '../state/voiceStoreContext.dom.js';
import { usePushToTalkKey } from '../voice/usePushToTalkKey.dom.js';
import { LatencyWaterfall } from './LatencyWaterfall.dom.js';
import { LevelMeter, MicButton } from './MicButton.dom.js';
import { LiveTranscript, ModeToggle, MuteButton, VoiceStateBadge, VoiceUnavailableNotice } from './VoiceControls.dom.js';
import { VoiceSettingsPanel, VoiceStatusLine } from './VoiceSettingsPanel.dom.js';

/** Talking to the assistant: push-to-talk or hands-free, what it heard, how fast it answered, and its engines. */
export function VoicePanel() {
  const pressTalk = useVoice((state) => state.pressTalk);
  const releaseTalk = useVoice((state) => state.releaseTalk);
  const error = useVoice((state) => state.error);
  const dismissError = useVoice((state) => state.dismissError);
  usePushToTalkKey(pressTalk, releaseTalk);

  return (
    <section className="voice-panel" aria-label="Voice">
      <div className="voice-controls">
        <MicButton />
        <LevelMeter />
        <VoiceStateBadge />
        <span className="voice-controls-spacer" />
        <ModeToggle />
        <MuteButton />
      </div>
      <VoiceUnavailableNotice />
      {error !== null && (
        <p className="voice-error" data-testid="voice-error" role="alert">
          {error}
          <button type="button" className="banner-dismiss" aria-label="Dismiss voice error" onClick={dismissError}>
            ×
          </button>
        </p>
      )}
      <div className="voice-feedback">
        <LiveTranscript />
        <LatencyWaterfall />
      </div>
      <div className="voice-footer">
        <VoiceStatusLine />
        <VoiceSettingsPanel />
      </div>
    </section>
  );
}
