import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunkDocument, estimateTokens } from './documentChunker.js';

const WORDS = 'the quick brown fox jumps over a lazy dog while bakers knead sourdough carefully at dawn'.split(' ');

/** A deterministic sentence of `length` words, distinct per `seed` (its number is in it). */
function sentence(seed: number, length = 12): string {
  const words = Array.from({ length }, (_, i) => WORDS[(seed * 7 + i * 3) % WORDS.length]!);
  return `Sentence ${seed} says ${words.join(' ')}.`;
}

function paragraph(from: number, count: number): string {
  return Array.from({ length: count }, (_, i) => sentence(from + i)).join(' ');
}

function words(text: string): string[] {
  return text.split(/\s+/).filter((word) => word !== '');
}

describe('chunkDocument', () => {
  it('returns no chunks for empty or blank text', () => {
    expect(chunkDocument('')).toEqual([]);
    expect(chunkDocument(' \n\n\t \n')).toEqual([]);
    expect(chunkDocument('# Only a heading\n\n## And another\n')).toEqual([]);
  });

  it('keeps a short document whole, untouched, with ordinal 0 and no heading path', () => {
    const text = 'Buy flour.\n\nFeed the starter at 9.';
    expect(chunkDocument(text)).toEqual([{ ordinal: 0, text, headingPath: [] }]);
  });

  it('tracks the heading path and never lets a chunk cross a heading', () => {
    const text = [
      'Preface text.',
      '# Recipes',
      'About recipes.',
      '## Sourdough',
      'Feed the starter.',
      '### Shaping',
      'Fold gently.',
      '## Bagels',
      'Boil first.',
      '# Notes',
      'Misc.',
    ].join('\n\n');
    const chunks = chunkDocument(text);
    expect(chunks.map((chunk) => [chunk.headingPath, chunk.text])).toEqual([
      [[], 'Preface text.'],
      [['Recipes'], 'About recipes.'],
      [['Recipes', 'Sourdough'], 'Feed the starter.'],
      [['Recipes', 'Sourdough', 'Shaping'], 'Fold gently.'],
      [['Recipes', 'Bagels'], 'Boil first.'],
      [['Notes'], 'Misc.'],
    ]);
    expect(chunks.map((chunk) => chunk.ordinal)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('reads setext headings and closing #s, and ignores # lines inside fenced code', () => {
    const text = 'Guide\n=====\n\nIntro.\n\n## Install ##\n\n```sh\n# not a heading\nnpm install\n```\n\nSetup\n-----\n\nRun it.';
    const chunks = chunkDocument(text);
    expect(chunks.map((chunk) => chunk.headingPath)).toEqual([['Guide'], ['Guide', 'Install'], ['Guide', 'Setup']]);
    expect(chunks[1]!.text).toContain('# not a heading');
  });

  it('splits a long section into chunks within budget that overlap by whole sentences and lose nothing', () => {
    const sentences = Array.from({ length: 60 }, (_, i) => sentence(i));
    const body = [0, 15, 30, 45].map((from) => sentences.slice(from, from + 15).join(' ')).join('\n\n');
    const chunks = chunkDocument(`# Long\n\n${body}\n\n# Next\n\nShort.`);
    const long = chunks.filter((chunk) => chunk.headingPath[0] === 'Long');
    expect(long.length).toBeGreaterThan(3);
    for (const chunk of chunks) {
      expect(estimateTokens(chunk.text)).toBeLessThanOrEqual(180);
      expect(chunk.text.trim()).toBe(chunk.text);
      expect(chunk.text).not.toBe('');
    }
    for (const s of sentences) expect(long.some((chunk) => chunk.text.includes(s))).toBe(true);
    for (let i = 1; i < long.length; i += 1) {
      // The next chunk starts with a whole sentence that ended the previous one, and repeats at most ~30 tokens.
      const firstSentence = sentences.find((s) => long[i]!.text.startsWith(s));
      expect(firstSentence, `chunk ${i} starts at a sentence`).toBeDefined();
      expect(long[i - 1]!.text).toContain(firstSentence);
      const previous = long[i - 1]!.text;
      const overlap = previous.slice(previous.indexOf(firstSentence!));
      expect(long[i]!.text.startsWith(overlap)).toBe(true);
      expect(estimateTokens(overlap)).toBeLessThanOrEqual(30);
    }
    expect(chunks.at(-1)).toMatchObject({ headingPath: ['Next'], text: 'Short.' });
  });

  it('keeps paragraphs that fit whole and starts the next chunk at a paragraph', () => {
    const paragraphs = Array.from({ length: 6 }, (_, i) => paragraph(i * 4, 4));
    const chunks = chunkDocument(paragraphs.join('\n\n'), { maxTokens: 200, overlapTokens: 0 });
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) {
      // Every chunk is a run of whole paragraphs.
      const inside = paragraphs.filter((p) => chunk.text.includes(p));
      expect(inside.join('\n\n')).toBe(chunk.text);
    }
  });

  it('cuts a monster sentence at word boundaries, with overlap', () => {
    const monster = Array.from({ length: 900 }, (_, i) => `${WORDS[i % WORDS.length]}${i}`).join(' ');
    const chunks = chunkDocument(monster);
    expect(chunks.length).toBeGreaterThan(5);
    const inputWords = new Set(words(monster));
    for (const chunk of chunks) {
      expect(estimateTokens(chunk.text)).toBeLessThanOrEqual(180);
      for (const word of words(chunk.text)) expect(inputWords.has(word)).toBe(true);
    }
    for (let i = 1; i < chunks.length; i += 1) {
      const firstWord = words(chunks[i]!.text)[0]!;
      expect(words(chunks[i - 1]!.text)).toContain(firstWord);
    }
    // In order, without the overlaps, the chunks are the input.
    const seen = new Set<string>();
    for (const chunk of chunks) for (const word of words(chunk.text)) seen.add(word);
    expect(seen).toEqual(inputWords);
  });

  it('cuts a single giant token (a base64 blob) by characters, within budget, losing nothing', () => {
    const blob = Buffer.from(Array.from({ length: 6000 }, (_, i) => (i * 37) % 256)).toString('base64');
    const chunks = chunkDocument(`Before.\n\n${blob}\n\nAfter.`, { overlapTokens: 0 });
    expect(chunks.length).toBeGreaterThan(10);
    for (const chunk of chunks) expect(estimateTokens(chunk.text)).toBeLessThanOrEqual(180);
    const rejoined = chunks.map((chunk) => chunk.text).join('').replace(/\s/g, '');
    expect(rejoined === `Before.${blob}After.`, 'the chunks, joined, are the input').toBe(true);
  });

  it('budgets CJK text by characters, since it has no spaces', () => {
    const chinese = '今天我们学习如何制作酸面包。'.repeat(200);
    const chunks = chunkDocument(chinese);
    expect(chunks.length).toBeGreaterThan(10);
    for (const chunk of chunks) expect(estimateTokens(chunk.text)).toBeLessThanOrEqual(180);
    expect(estimateTokens('今天我们学习')).toBe(6);
  });

  it('holds its promises for any document (property)', () => {
    const word = fc.constantFrom(...WORDS, 'x', 'Ünïcode', '🙂', 'http://example.com/a/very/long/path');
    const sentenceArb = fc.array(word, { minLength: 1, maxLength: 40 }).map((ws) => `${ws.join(' ')}.`);
    const paragraphArb = fc.array(sentenceArb, { minLength: 1, maxLength: 12 }).map((ss) => ss.join(' '));
    const block = fc.oneof(
      { weight: 5, arbitrary: paragraphArb },
      { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 4 }), word).map(([level, title]) => `${'#'.repeat(level)} ${title}`) },
    );
    const options = fc.record({ maxTokens: fc.integer({ min: 16, max: 300 }), overlap: fc.double({ min: 0, max: 0.5, noNaN: true }) });
    fc.assert(
      fc.property(fc.array(block, { maxLength: 30 }), options, (blocks, { maxTokens, overlap }) => {
        const text = blocks.join('\n\n');
        const overlapTokens = Math.floor(maxTokens * overlap);
        const chunks = chunkDocument(text, { maxTokens, overlapTokens });
        const inputWords = new Set(words(text));
        const covered = new Set<string>();
        chunks.forEach((chunk, index) => {
          expect(chunk.ordinal).toBe(index);
          expect(chunk.text.trim()).not.toBe('');
          expect(estimateTokens(chunk.text)).toBeLessThanOrEqual(maxTokens);
          expect(chunk.text).not.toMatch(/^#{1,6} /m);
          for (const w of words(chunk.text)) {
            expect(inputWords.has(w), `"${w}" is a word of the input`).toBe(true);
            covered.add(w);
          }
        });
        // Every body word is in some chunk (heading words may live only in headingPath).
        const bodyWords = blocks.filter((b) => !b.startsWith('#')).flatMap(words);
        for (const w of bodyWords) expect(covered.has(w)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('chunks 5 MB of text in linear time (well under a second here; a quadratic chunker would take minutes)', () => {
    const parts: string[] = [];
    let length = 0;
    for (let i = 0; length < 5_000_000; i += 1) {
      const part = (i % 40 === 0 ? `## Part ${i}\n\n` : '') + paragraph(i, 1 + (i % 9));
      parts.push(part);
      length += part.length + 2;
    }
    const text = parts.join('\n\n');
    const started = performance.now();
    const chunks = chunkDocument(text);
    const elapsed = performance.now() - started;
    console.log(`chunked ${(text.length / 1e6).toFixed(1)} MB into ${chunks.length} chunks in ${elapsed.toFixed(0)} ms (${(text.length / 1e6 / (elapsed / 1000)).toFixed(1)} MB/s)`);
    // Linear work takes well under a second here; a quadratic one would take minutes. The margin absorbs a busy machine.
    expect(elapsed).toBeLessThan(15_000);
    expect(chunks.length).toBeGreaterThan(5000);
  });

  it('refuses budgets it cannot honour', () => {
    expect(() => chunkDocument('text', { maxTokens: 4 })).toThrow(RangeError);
    expect(() => chunkDocument('text', { maxTokens: 100, overlapTokens: 60 })).toThrow(RangeError);
  });
});

describe('estimateTokens', () => {
  it('is the larger of words × 1.3 and characters / 4, rounded up', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('one two three four five six seven eight nine ten')).toBe(13);
    expect(estimateTokens('x'.repeat(400))).toBe(100);
    expect(estimateTokens('a b')).toBe(3);
  });
});
