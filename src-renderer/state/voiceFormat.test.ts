import { describe, expect, it } from 'vitest';
import { DEFAULT_VOICE_SETTINGS, type VoiceSettings } from '../../src-shared/contract/index.js';
import { describeEndSilence, endSilenceChoices } from './voiceFormat.js';

const handsFree: VoiceSettings = { ...DEFAULT_VOICE_SETTINGS, mode: 'hands-free' };

describe('describeEndSilence', () => {
  it('shows the silence in use now and why', () => {
    expect(describeEndSilence(handsFree, { baseMs: 500, currentMs: 350, reason: 'complete-question' })).toBe(
      'Ends after 350 ms of silence (a complete question).',
    );
    expect(describeEndSilence(handsFree, { baseMs: 500, currentMs: 1000, reason: 'hanging-word' })).toBe(
      'Ends after 1000 ms of silence (the sentence sounds unfinished).',
    );
    expect(describeEndSilence(handsFree, { baseMs: 500, currentMs: 500, reason: 'base' })).toBe('Ends after 500 ms of silence.');
  });

  it('shows the configured silence until the agent reports one, and says when it does not adapt', () => {
    expect(describeEndSilence(handsFree, undefined)).toBe('Ends after 500 ms of silence.');
    expect(describeEndSilence({ ...handsFree, adaptiveEndSilence: false }, undefined)).toBe('Ends after 500 ms of silence (fixed).');
  });

  it('shows a newly configured silence rather than a status about the old one', () => {
    expect(describeEndSilence({ ...handsFree, endSilenceMs: 1000 }, { baseMs: 500, currentMs: 350, reason: 'complete-question' })).toBe(
      'Ends after 1000 ms of silence.',
    );
  });

  it('says that push-to-talk turns end with the key', () => {
    expect(describeEndSilence(DEFAULT_VOICE_SETTINGS, { baseMs: 500, currentMs: 500, reason: 'base' })).toMatch(/let go of the key/);
  });
});

describe('endSilenceChoices', () => {
  it('offers the usual values, and the configured one when it is not among them', () => {
    expect(endSilenceChoices(500)).toEqual([300, 400, 500, 700, 1000, 1500]);
    expect(endSilenceChoices(800)).toEqual([300, 400, 500, 700, 800, 1000, 1500]);
  });
});
