import { DEFAULT_ENERGY_GATE_DBFS } from '../vad/energyGate.js';
import type { Transcript } from './speechTranscriber.js';

/**
 * Below this speech level (see `speechLevelDbfs`) a transcript that is only a known silence
 * hallucination is dropped. Ordinary speech into a desktop mic sits around -30..-10 dBFS.
 */
export const LOW_SPEECH_LEVEL_DBFS = -35;

/** Non-speech annotations Whisper writes: [BLANK_AUDIO], (music), *sighs*, ♪ ... ♪. */
const ANNOTATION = /\[[^\]]*\]|\([^)]*\)|\*[^*]*\*|[♪♫]+/g;

/** What Whisper says over silence or noise, learnt from subtitle data. Compared after normalising. */
const SILENCE_HALLUCINATIONS = new Set([
  'you',
  'thank you',
  'thank you very much',
  'thank you so much',
  'thanks',
  'thank you for watching',
  'thanks for watching',
  'thank you for watching please subscribe',
  'please subscribe',
  'like and subscribe',
  'see you next time',
  'see you in the next video',
  'bye',
  'bye bye',
  'so',
  'oh',
  'uh',
  'um',
  'hmm',
]);
const SILENCE_HALLUCINATION_PREFIXES = ['subtitles by', 'subtitle by', 'captions by', 'transcribed by', 'transcription by', 'translated by', 'amara org'];

export const NO_SPEECH: Transcript = Object.freeze({ text: '', noSpeech: true });

/** True when audio is too quiet to be worth sending to a recogniser at all. */
export function isBelowSpeechGate(speechLevel: number): boolean {
  return speechLevel < DEFAULT_ENERGY_GATE_DBFS;
}

function normalise(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Removes non-speech annotations and collapses whitespace; returns what is left of the spoken text. */
export function stripAnnotations(rawText: string): string {
  return rawText.replace(ANNOTATION, ' ').replace(/\s+/g, ' ').trim();
}

export function isSilenceHallucination(text: string): boolean {
  const normalised = normalise(text);
  return SILENCE_HALLUCINATIONS.has(normalised) || SILENCE_HALLUCINATION_PREFIXES.some((prefix) => normalised.startsWith(prefix));
}

/**
 * Decides what a recogniser's raw output means. Annotations are always removed. Audio below the
 * energy gate is never speech. A known hallucination counts as no speech only when the audio is
 * quiet, so a user who clearly says "thank you" is still heard.
 */
export function filterNoSpeech(rawText: string, speechLevel: number): Transcript {
  if (isBelowSpeechGate(speechLevel)) return NO_SPEECH;
  const text = stripAnnotations(rawText);
  if (normalise(text) === '') return NO_SPEECH;
  if (speechLevel < LOW_SPEECH_LEVEL_DBFS && isSilenceHallucination(text)) return NO_SPEECH;
  return { text, noSpeech: false };
}

