import { describe, expect, it } from 'vitest';
import { filterNoSpeech, isSilenceHallucination, stripAnnotations } from './noSpeechFilter.js';

const QUIET = -42; // above the energy gate, below normal speech: hiss, a fan, breathing
const CLEAR = -18; // someone talking into the mic
const SILENT = -70;

describe('noSpeechFilter', () => {
  it.each([
    'Thank you for watching',
    'Thanks for watching!',
    '[BLANK_AUDIO]',
    '(music)',
    ' you',
    'Subtitles by the Amara.org community',
    '♪ ♪',
    'Thank you.',
  ])('drops the silence hallucination %j from quiet audio', (raw) => {
    expect(filterNoSpeech(raw, QUIET)).toEqual({ text: '', noSpeech: true });
  });

  it('keeps "thank you" and "you" when someone clearly said them', () => {
    expect(filterNoSpeech(' Thank you.', CLEAR)).toEqual({ text: 'Thank you.', noSpeech: false });
    expect(filterNoSpeech('You?', CLEAR)).toEqual({ text: 'You?', noSpeech: false });
  });

  it('keeps real questions from quiet audio', () => {
    expect(filterNoSpeech(' What time is it?', QUIET)).toEqual({ text: 'What time is it?', noSpeech: false });
  });

  it('never reports speech from audio below the energy gate, whatever the engine said', () => {
    expect(filterNoSpeech('What time is it?', SILENT)).toEqual({ text: '', noSpeech: true });
  });

  it('strips annotations from inside real speech and empty output is no speech', () => {
    expect(filterNoSpeech('[MUSIC] Set a timer (laughs) for ten minutes', CLEAR)).toEqual({ text: 'Set a timer for ten minutes', noSpeech: false });
    expect(filterNoSpeech('   ', CLEAR).noSpeech).toBe(true);
    expect(filterNoSpeech(' ... ', CLEAR).noSpeech).toBe(true);
  });

  it('does not mistake sentences that merely start like a hallucination for one', () => {
    expect(isSilenceHallucination('Thank you for the weather report, what about tomorrow?')).toBe(false);
    expect(isSilenceHallucination('You should set an alarm')).toBe(false);
    expect(stripAnnotations('[BLANK_AUDIO]')).toBe('');
  });
});
