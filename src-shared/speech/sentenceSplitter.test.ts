import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamingSentenceSplitter, type SentenceSplitterOptions } from './sentenceSplitter.js';

/** Feeds `tokens` one by one; records after which token each sentence came out. */
function stream(tokens: string[], options?: SentenceSplitterOptions) {
  const splitter = new StreamingSentenceSplitter(options);
  const emitted: { sentence: string; afterToken: number }[] = [];
  tokens.forEach((token, index) => {
    for (const sentence of splitter.push(token)) emitted.push({ sentence, afterToken: index });
  });
  const flushed = splitter.flush();
  return { emitted, flushed, all: [...emitted.map((e) => e.sentence), ...flushed] };
}

function sentencesOf(text: string, options?: SentenceSplitterOptions): string[] {
  return stream([text], options).all;
}

/** Cuts `text` at the given fractions, as an LLM's tokens would. */
function chunk(text: string, cutFractions: number[]): string[] {
  const cuts = [...new Set(cutFractions.map((f) => Math.floor(f * text.length)))].sort((a, b) => a - b);
  const tokens: string[] = [];
  let start = 0;
  for (const cut of [...cuts, text.length]) {
    if (cut > start) tokens.push(text.slice(start, cut));
    start = Math.max(start, cut);
  }
  return tokens;
}

const withoutWhitespace = (text: string) => text.replace(/\s+/g, '');

const word = fc.constantFrom('the', 'timer', 'is', 'set', 'for', 'ten', 'minutes', 'pasta', 'water', 'boils', 'quickly', 'Paris', 'e.g.', '3.14', 'Dr.', 'and');
const sentenceEnd = fc.constantFrom('.', '!', '?', '?!', '...', '."', '!)');
const sentence = fc
  .tuple(fc.constantFrom('Then', 'Sure', 'Yes', 'Water', 'Today', 'First'), fc.array(word, { minLength: 1, maxLength: 12 }), sentenceEnd)
  .map(([first, rest, end]) => `${first} ${rest.join(' ')}${end}`);
const separator = fc.constantFrom(' ', ' ', '  ', '\n', '\n\n', '\n1. ', '\n- ');
const codeBlock = fc.constantFrom('\n```js\nconst a = 1. b = 2;\n\nAfter. Still code\n```\n', '\n~~~\nx. Y\n~~~\n');
/** Prose with sentences, list items and sometimes a fenced code block. */
const answerText = fc
  .array(fc.tuple(sentence, fc.oneof(separator, codeBlock)), { minLength: 1, maxLength: 8 })
  .map((parts) => parts.map(([s, sep]) => s + sep).join('').trimEnd());
/** Arbitrary text made of the characters that decide sentence boundaries. */
const trickyText = fc
  .array(fc.constantFrom('a', 'B', 'word', ' ', '.', '!', '?', '"', '(', ')', '\n', '`', '```', '~~~', '1', 'Dr.', 'e.g.', '…', '🙂', 'é'), { maxLength: 80 })
  .map((pieces) => pieces.join(''));
const cutPoints = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 });

describe('StreamingSentenceSplitter properties', () => {
  it('loses and duplicates nothing, however the text is cut into tokens', () => {
    fc.assert(
      fc.property(fc.oneof(answerText, trickyText, fc.string({ unit: 'grapheme', maxLength: 200 })), cutPoints, (text, cuts) => {
        expect(withoutWhitespace(stream(chunk(text, cuts)).all.join(''))).toBe(withoutWhitespace(text));
      }),
      { numRuns: 500 },
    );
  });

  it('gives the same sentences however the text is cut into tokens', () => {
    fc.assert(
      fc.property(fc.oneof(answerText, trickyText), cutPoints, (text, cuts) => {
        expect(stream(chunk(text, cuts)).all).toEqual(sentencesOf(text));
      }),
      { numRuns: 500 },
    );
  });

  it('gives the same sentences when a run-on sentence is force-split, however it is cut', () => {
    fc.assert(
      fc.property(answerText, cutPoints, (text, cuts) => {
        const options = { maxSentenceChars: 40 };
        const sentences = stream(chunk(text, cuts), options).all;
        expect(sentences).toEqual(sentencesOf(text, options));
        for (const s of sentences.filter((s) => !s.startsWith('```') && !s.startsWith('~~~'))) expect(s.length).toBeLessThanOrEqual(40);
      }),
      { numRuns: 300 },
    );
  });

  it('emits the first sentence before the stream ends when there are at least two', () => {
    fc.assert(
      fc.property(fc.array(sentence, { minLength: 2, maxLength: 5 }), separator, cutPoints, (sentences, sep, cuts) => {
        const { emitted } = stream(chunk(sentences.join(sep), cuts));
        expect(emitted.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('StreamingSentenceSplitter examples', () => {
  it('yields a sentence as soon as the next one starts, without waiting for the end', () => {
    const { emitted, flushed } = stream(['Hello', ' there', '.', ' How', ' are', ' you', '?']);
    expect(emitted).toEqual([{ sentence: 'Hello there.', afterToken: 3 }]);
    expect(flushed).toEqual(['How are you?']);
  });

  it('does not split after abbreviations, initials or inside decimals', () => {
    expect(sentencesOf('Dr. Smith said pi is 3.14 today. Use a tool, e.g. Python or i.e. The best one. J. R. R. Tolkien wrote it.')).toEqual([
      'Dr. Smith said pi is 3.14 today.',
      'Use a tool, e.g. Python or i.e. The best one.',
      'J. R. R. Tolkien wrote it.',
    ]);
  });

  it('keeps ellipses, "?!" and closing quotes with their sentence', () => {
    expect(sentencesOf('Wait... What?! She said "Really." Then she left.')).toEqual(['Wait...', 'What?!', 'She said "Really."', 'Then she left.']);
  });

  it('treats lines and list items as sentences and keeps list numbers with their item', () => {
    expect(sentencesOf('Steps:\n1. Open the app.\n2. Click Start\n\n- boil water\n- add pasta\nDone')).toEqual([
      'Steps:',
      '1. Open the app.',
      '2. Click Start',
      '- boil water',
      '- add pasta',
      'Done',
    ]);
  });

  it('yields a line as soon as its line break arrives', () => {
    const { emitted } = stream(['Here is a list', ':\n', '- one']);
    expect(emitted).toEqual([{ sentence: 'Here is a list:', afterToken: 1 }]);
  });

  it('keeps a fenced code block whole, even across streamed tokens', () => {
    const { all } = stream(['Run this', ':\n`', '``sh\nnpm test. Then\n\nmore.', '\n``', '`\nThat is all.']);
    expect(all).toEqual(['Run this:', '```sh\nnpm test. Then\n\nmore.\n```', 'That is all.']);
  });

  it('flushes an unclosed code block at the end of the stream', () => {
    expect(sentencesOf('Code:\n```\nx = 1. y = 2')).toEqual(['Code:', '```\nx = 1. y = 2']);
  });

  it('waits while a following "(" could still turn out to continue the sentence', () => {
    const { emitted, all } = stream(['It is done. (', 'which took long) Next.']);
    expect(emitted).toEqual([]);
    expect(all).toEqual(['It is done. (which took long) Next.']);
  });

  it('cuts a run-on sentence at a comma so speech is not held up', () => {
    const clause = 'and then the water kept boiling for a very long time';
    const runOn = Array.from({ length: 8 }, () => clause).join(', ');
    const { emitted } = stream([...runOn.split(/(?<= )/)]);
    expect(emitted.length).toBeGreaterThan(0);
    for (const { sentence } of emitted) {
      expect(sentence.length).toBeLessThanOrEqual(250);
      expect(sentence.endsWith(',')).toBe(true);
    }
  });

  it('is ready for the next answer after flush', () => {
    const splitter = new StreamingSentenceSplitter();
    splitter.push('Unfinished answer');
    expect(splitter.flush()).toEqual(['Unfinished answer']);
    expect(splitter.push('New one. ')).toEqual([]);
    expect(splitter.flush()).toEqual(['New one.']);
  });
});
