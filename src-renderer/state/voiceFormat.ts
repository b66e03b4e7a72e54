import type { EndSilenceReason, EndSilenceStatus, VoiceSettings } from '../../src-shared/contract/index.js';

const WHY: Record<EndSilenceReason, string | null> = {
  'complete-question': 'a complete question',
  'hanging-word': 'the sentence sounds unfinished',
  base: null,
  fixed: 'fixed',
};

/**
 * The end-of-speech silence in use, as the settings show it: "Ends after 350 ms of silence (a complete question)".
 * The agent's `endSilence` is used while it belongs to the configured value; just after a change, the settings
 * (already applied) are newer than the last status.
 */
export function describeEndSilence(settings: VoiceSettings, endSilence: EndSilenceStatus | undefined): string {
  if (settings.mode === 'push-to-talk') return 'With push-to-talk, your turn ends when you let go of the key.';
  const current = endSilence?.baseMs === settings.endSilenceMs ? endSilence : undefined;
  const ms = current?.currentMs ?? settings.endSilenceMs;
  const why = current ? WHY[current.reason] : settings.adaptiveEndSilence ? null : WHY.fixed;
  return `Ends after ${ms} ms of silence${why ? ` (${why})` : ''}.`;
}

const END_SILENCE_CHOICES_MS = [300, 400, 500, 700, 1000, 1500];

/** The end-of-speech silences offered, with the configured one among them even when it was set elsewhere (e.g. 800 ms by the CLI). */
export function endSilenceChoices(configuredMs: number): number[] {
  return [...new Set([...END_SILENCE_CHOICES_MS, configuredMs])].sort((a, b) => a - b);
}
