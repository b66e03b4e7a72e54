import { describe, expect, it } from 'vitest';
import { endSilenceFor, type EndSilence } from './endOfTurnPolicy.js';

const at = (text: string, baseMs = 500, textCoversAllSpeech = true): EndSilence =>
  endSilenceFor({ text, baseMs, adaptive: true, textCoversAllSpeech });

describe('endSilenceFor', () => {
  it.each([
    'What is the capital of France?',
    'what time is it',
    'How do I boil an egg',
    'Is it going to rain tomorrow',
    'Can you help me',
    'Tell me a joke.',
    'Set a timer for ten minutes',
    'So, what is the weather today?',
    'Okay please summarise this long document',
    'I was reading about Rome. Who built the Colosseum?',
    'You mean the red one?',
    'what is the weather like today',
    'set a timer for ten minutes',
    'how far away is the moon',
    'what time is it in london',
    'what is the population of france',
    'what is five times three',
    'what is 2 + 2',
    'what is twenty divided by four',
    'what is the square root of sixteen',
    'what is the difference between a cat and a dog',
    "what's the weather in new york",
    'set a timer for twenty five minutes',
    'what are the opening times',
  ])('ends a complete question or request sooner: %j', (text) => {
    expect(at(text)).toEqual({ ms: 350, reason: 'complete-question' });
  });

  it.each([
    "What's the weather like in",
    'Tell me about the history of',
    'I want to know the',
    'Remind me to buy milk and',
    'What is the difference between cats or',
    'Can you check my',
    'Um',
    'so what is, uh',
    'What did the report say about, um,',
    'Can you tell me',
    'Show me',
    'Set a timer for...',
    'Play something by, ',
    'What is the capital of France? And',
    'Because',
    'what is five times',
    'what is 2 +',
    'what is 2 *',
    'what is 10 /',
    'what is 7 x',
    'what is twenty divided',
    'what is ten minus',
    'what is six multiplied',
    'how do you spell',
    'is ten bigger than',
  ])('waits longer after a hanging word: %j', (text) => {
    expect(at(text)).toEqual({ ms: 1000, reason: 'hanging-word' });
  });

  it.each([
    '',
    '   ',
    '[BLANK_AUDIO]',
    'What time', // too short to be sure
    'The meeting went well', // a statement: the user may go on
    'Do you know where it is', // ends on an auxiliary: could be a question, could go on
    'What time is',
    'Bonjour, quelle heure est-il',
  ])('keeps the configured silence when the words say nothing either way: %j', (text) => {
    expect(at(text)).toEqual({ ms: 500, reason: 'base' });
  });

  it.each([
    // "… of France": a noun that takes a complement, or just "what is the" and a noun.
    'what is the population',
    'what is the capital',
    'who is the president',
    'What is the capital?',
    'what is the square root',
    'what is the meaning',
    'what is the weather',
    // "… and a dog".
    'what is the difference between a cat',
    // "… York".
    "what's the weather in new",
    'what is the time in san',
    // "… minutes".
    'set a timer for five',
    'set a timer for twenty five',
    'remind me in a hundred and ten',
    // Too few words to be sure.
    "what's the weather",
    'set a timer',
    // Not English (or maybe not): nothing here can tell whether it is complete.
    'was ist die hauptstadt von',
    'Was ist die Hauptstadt von Frankreich?',
    'Quelle est la capitale de la France?',
    '¿Cuál es la capital de España?',
    'what is the weather in Zürich today',
  ])('keeps the configured silence where a question often goes on, or may not be English: %j', (text) => {
    expect(at(text)).toEqual({ ms: 500, reason: 'base' });
  });

  it('does not end "what is the population … of France" in a 350 ms pause, with any configured silence', () => {
    for (const baseMs of [300, 400, 500, 700, 1000, 1500]) {
      expect(at('what is the population', baseMs).ms, `${baseMs}`).toBeGreaterThanOrEqual(Math.min(baseMs, 400));
      // Even a complete question never ends sooner than 350 ms (or the configured silence, if shorter).
      expect(at('what is the population of france', baseMs).ms, `${baseMs}`).toBeGreaterThanOrEqual(Math.min(baseMs, 350));
    }
  });

  it('ignores what the recogniser adds that is not speech', () => {
    expect(at('What is the capital of France? [BLANK_AUDIO]')).toMatchObject({ reason: 'complete-question' });
    expect(at('What is the capital of (coughs)')).toMatchObject({ reason: 'hanging-word' });
  });

  it('never shortens on a transcript that may be missing the latest words, but still lengthens', () => {
    // Transcribed mid-speech: the user may since have said "… of France and Spain".
    expect(at('What is the capital of France', 500, false)).toEqual({ ms: 500, reason: 'base' });
    expect(at('What is the capital of', 500, false)).toEqual({ ms: 1000, reason: 'hanging-word' });
  });

  it('scales with the configured silence, within bounds, and never below it after a hanging word', () => {
    expect(at('What is the capital of France', 1000)).toEqual({ ms: 700, reason: 'complete-question' });
    expect(at('What is the capital of France', 600)).toEqual({ ms: 420, reason: 'complete-question' });
    expect(at('What is the capital of France', 400)).toEqual({ ms: 350, reason: 'complete-question' });
    expect(at('What is the capital of France', 300)).toEqual({ ms: 300, reason: 'complete-question' });
    // Already at the shortest a user can set: not shortened further.
    expect(at('What is the capital of France', 200)).toEqual({ ms: 200, reason: 'complete-question' });
    expect(at('What is the capital of', 300)).toEqual({ ms: 600, reason: 'hanging-word' });
    expect(at('What is the capital of', 1000)).toEqual({ ms: 1500, reason: 'hanging-word' });
    expect(at('What is the capital of', 2000)).toEqual({ ms: 2000, reason: 'hanging-word' });
  });

  it('always uses the configured silence when adapting is off', () => {
    for (const text of ['What is the capital of France?', 'What is the capital of', '']) {
      expect(endSilenceFor({ text, baseMs: 700, adaptive: false, textCoversAllSpeech: true })).toEqual({ ms: 700, reason: 'fixed' });
    }
  });
});
