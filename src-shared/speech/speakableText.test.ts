import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toSpeakableText } from './speakableText.js';

const PICTOGRAPH = /\p{Extended_Pictographic}/u;

// No bare numbers: "42. the" at the start of a line is a numbered list item, not prose.
const plainWord = fc.constantFrom('the', 'timer', 'is', 'set', 'for', 'ten', 'minutes', 'Paris', 'water', 'boils', 'quickly', 'café', 'naïve', 'x2', '3.50');
const prose = fc
  .array(fc.tuple(plainWord, fc.constantFrom(' ', ' ', ', ', '. ', '? ', '! ', '\n')), { minLength: 1, maxLength: 20 })
  .map((parts) => parts.map(([w, sep]) => w + sep).join(''));
const emoji = fc.constantFrom('🙂', '👍🏽', '👨‍👩‍👧', '🇫🇷', '❤️', '✅', '🎉', '1️⃣', '🏳️‍🌈', '©', '™️');
const markdownPiece = fc.oneof(
  plainWord,
  plainWord.map((w) => `**${w}**`),
  plainWord.map((w) => `_${w}_`),
  plainWord.map((w) => `~~${w}~~`),
  plainWord.map((w) => `\`${w}\``),
  plainWord.map((w) => `[${w}](https://example.com/${w}?q=1)`),
  plainWord.map((w) => `![${w}](http://img.example/${w}.png)`),
  plainWord.map((w) => `<b>${w}</b>`),
  fc.constantFrom('https://example.com/a_b', 'http://x.io', 'www.example.org/path', '<https://example.com>'),
  emoji,
  fc.constantFrom('\n# ', '\n## ', '\n> ', '\n- ', '\n* ', '\n1. ', '\n- [x] ', '\n---\n', '\n| a | b |\n|---|---|\n| c | d |\n'),
  fc.constantFrom('\n```python\nprint("#hi") # `x` http://a\n```\n', '\n~~~\ncode\n~~~\n', '\n```\nunclosed http://b *'),
);
const markdownText = fc.array(markdownPiece, { maxLength: 30 }).map((pieces) => pieces.join(' '));
const anyText = fc.oneof(markdownText, fc.string({ unit: 'grapheme', maxLength: 120 }), fc.string({ unit: 'binary', maxLength: 120 }));

describe('toSpeakableText properties', () => {
  it('never leaves markup, URLs or emoji to be read aloud', () => {
    fc.assert(
      fc.property(markdownText, (text) => {
        const spoken = toSpeakableText(text);
        for (const forbidden of ['*', '`', '#', '](', 'http', 'www.', '<b>', '~~']) expect(spoken).not.toContain(forbidden);
        expect(spoken).not.toMatch(PICTOGRAPH);
      }),
      { numRuns: 1000 },
    );
  });

  it('never leaves markup characters or pictographs in any input', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const spoken = toSpeakableText(text);
        for (const forbidden of ['*', '`', '#', '](']) expect(spoken).not.toContain(forbidden);
        expect(spoken).not.toMatch(PICTOGRAPH);
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps every word of plain prose, in order', () => {
    fc.assert(
      fc.property(prose, (text) => {
        const words = (s: string) => s.match(/[\p{L}\p{N}]+/gu) ?? [];
        expect(words(toSpeakableText(text))).toEqual(words(text));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the words inside markup', () => {
    fc.assert(
      fc.property(fc.array(plainWord, { minLength: 1, maxLength: 8 }), (words) => {
        const marked = words.map((w, i) => [`**${w}**`, `_${w}_`, `\`${w}\``, `[${w}](https://e.com)`, `<i>${w}</i>`][i % 5]).join(' ');
        expect(toSpeakableText(marked)).toBe(words.join(' '));
      }),
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const once = toSpeakableText(text);
        expect(toSpeakableText(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('toSpeakableText examples', () => {
  it('reads a typical markdown answer as plain sentences', () => {
    const answer = [
      '## Cooking pasta 🍝',
      '',
      'Here is **how** to do it, see [the guide](https://example.com/pasta) or https://cook.example/x:',
      '',
      '1. Boil the `water`',
      '2. Add _salt_ ~~twice~~',
      '- [x] Done!',
      '',
      '```python',
      'print("boil")',
      '```',
      '> Enjoy 👍🏽 <br/>your meal &amp; relax',
      '',
      '| Step | Time |',
      '|------|-----:|',
      '| Boil | 10 min |',
    ].join('\n');
    expect(toSpeakableText(answer)).toBe(
      'Cooking pasta. Here is how to do it, see the guide or: Boil the water. Add salt twice. Done! Enjoy your meal and relax Step, Time. Boil, 10 min.',
    );
  });

  it('returns an empty string when nothing speakable remains', () => {
    for (const text of ['', '   ', '```js\nconst x = 1;\n```', '🙂🎉👍🏽', 'https://example.com', '---', '![img](a.png)', '**', '| --- | --- |']) {
      expect(toSpeakableText(text)).toBe('');
    }
  });

  it('removes whole emoji sequences: flags, skin tones, families, keycaps', () => {
    expect(toSpeakableText('Flags 🇫🇷 skin 👋🏿 family 👨‍👩‍👧‍👦 rainbow 🏳️‍🌈 heart ❤️ end')).toBe('Flags skin family rainbow heart end');
  });

  it('keeps ordinary punctuation and numbers', () => {
    expect(toSpeakableText('It costs $3.50, right? Yes: 20% off (today) - really!')).toBe('It costs $3.50, right? Yes: 20% off (today) - really!');
  });

  it('does not read citation markers aloud: the sources are shown under the answer', () => {
    expect(toSpeakableText('Bake it at 230 degrees [1]. Rest the dough overnight [2, 3] as the recipe says [passage 1].')).toBe(
      'Bake it at 230 degrees. Rest the dough overnight as the recipe says.',
    );
    expect(toSpeakableText('Option [a] stays, and so does array[0] in code.')).toContain('a');
  });

  it('pauses after a bold heading line that has no punctuation of its own', () => {
    expect(toSpeakableText('- **Tip:**\nSalt the water.')).toBe('Tip: Salt the water.');
  });

  it('speaks the words of inline code and snake_case names', () => {
    expect(toSpeakableText('Call `open_file` twice.')).toBe('Call open file twice.');
  });
});
