import type { DocumentChunk } from './documentText.js';

export interface ChunkOptions {
  /** The most a chunk may hold, by `estimateTokens`. Default 180; at least 16. */
  maxTokens?: number;
  /** How much of the previous chunk of the same section a chunk repeats at its start. Default 30; at most half of maxTokens. */
  overlapTokens?: number;
}

export const DEFAULT_MAX_TOKENS = 180;
export const DEFAULT_OVERLAP_TOKENS = 30;
const MIN_MAX_TOKENS = 16;

/**
 * A cheap, stable token estimate that needs no tokenizer: `ceil(max(words × 1.3, weightedChars / 4))`, where words are
 * whitespace-separated runs and weightedChars counts each CJK/kana/hangul character as 4 (they are about a token each,
 * and such text has few spaces). English prose lands near a BPE/WordPiece count; code and URLs are caught by the
 * character term. Linear in the counts, so the chunker can add up pieces without re-reading text.
 */
export function estimateTokens(text: string): number {
  const { words, weight } = measure(text, 0, text.length);
  return tokensOf(words, weight);
}

/**
 * Splits Markdown-like text (as `extractDocument` returns it) into chunks for embedding and for the prompt.
 * Sections are cut at `#` headings (and setext `===`/`---` underlines), never inside a fenced code block; a chunk never
 * crosses a heading, and carries the heading path above it. A section that fits in `maxTokens` is one chunk. A longer
 * one is cut into pieces (paragraphs, else sentences, else runs of words) that are packed in order; each chunk after
 * the first in a section starts with up to `overlapTokens` taken from the end of the previous one, in whole sentences
 * where possible. Chunk text is a verbatim slice of the input (heading lines excluded), trimmed; never empty, never
 * cut inside a word (except a single "word" too long for any chunk, such as a base64 blob, which is cut by characters).
 * Pure and linear in the input.
 */
export function chunkDocument(text: string, options: ChunkOptions = {}): DocumentChunk[] {
  const maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
  const overlapTokens = options.overlapTokens ?? DEFAULT_OVERLAP_TOKENS;
  if (!Number.isInteger(maxTokens) || maxTokens < MIN_MAX_TOKENS) {
    throw new RangeError(`maxTokens must be an integer of at least ${MIN_MAX_TOKENS}; got ${maxTokens}.`);
  }
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens > maxTokens / 2) {
    throw new RangeError(`overlapTokens must be an integer from 0 to half of maxTokens (${maxTokens / 2}); got ${overlapTokens}.`);
  }
  const chunker = new SectionChunker(text, maxTokens, overlapTokens);
  for (const section of sectionsOf(text)) chunker.chunkSection(section);
  return chunker.chunks;
}

interface Section {
  headingPath: string[];
  /** The body's range in the text, heading line excluded. */
  start: number;
  end: number;
}

/** A range of the text that the packer keeps whole, with its measure. */
interface Piece {
  start: number;
  end: number;
  words: number;
  /** Characters, CJK counted 4 times: see `estimateTokens`. */
  weight: number;
}

class SectionChunker {
  readonly chunks: DocumentChunk[] = [];
  // The root locale: the same cuts on every machine, whatever its language settings.
  readonly #sentences = new Intl.Segmenter('und', { granularity: 'sentence' });
  readonly #words = new Intl.Segmenter('und', { granularity: 'word' });
  /** Pieces are kept small enough that a full overlap plus the next piece always fits in a chunk. */
  readonly #pieceBudget: number;

  constructor(
    readonly text: string,
    readonly maxTokens: number,
    readonly overlapTokens: number,
  ) {
    this.#pieceBudget = maxTokens - overlapTokens;
  }

  chunkSection(section: Section): void {
    const [start, end] = trimRange(this.text, section.start, section.end);
    if (start >= end) return;
    const whole = measure(this.text, start, end);
    if (tokensOf(whole.words, whole.weight) <= this.maxTokens) {
      this.#emit(start, end, section.headingPath);
      return;
    }
    let chunkStart = -1;
    let chunkEnd = -1;
    let words = 0;
    let weight = 0;
    for (const piece of this.#piecesOf(start, end)) {
      if (chunkStart < 0) {
        [chunkStart, chunkEnd, words, weight] = [piece.start, piece.end, piece.words, piece.weight];
        continue;
      }
      // Whitespace between pieces adds characters, never words.
      const joinedWeight = weight + (piece.start - chunkEnd) + piece.weight;
      if (tokensOf(words + piece.words, joinedWeight) <= this.maxTokens) {
        [chunkEnd, words, weight] = [piece.end, words + piece.words, joinedWeight];
        continue;
      }
      this.#emit(chunkStart, chunkEnd, section.headingPath);
      const overlap = this.#overlapBefore(chunkStart, chunkEnd, piece);
      if (overlap.start < chunkEnd) {
        [chunkStart, words, weight] = [overlap.start, overlap.words + piece.words, overlap.weight + (piece.start - chunkEnd) + piece.weight];
      } else {
        [chunkStart, words, weight] = [piece.start, piece.words, piece.weight];
      }
      chunkEnd = piece.end;
    }
    if (chunkStart >= 0) this.#emit(chunkStart, chunkEnd, section.headingPath);
  }

  #emit(start: number, end: number, headingPath: string[]): void {
    const [from, to] = trimRange(this.text, start, end);
    if (from < to) this.chunks.push({ ordinal: this.chunks.length, text: this.text.slice(from, to), headingPath: [...headingPath] });
  }

  /** Paragraphs that fit the piece budget; longer ones as sentences; longer sentences as runs of words. */
  *#piecesOf(start: number, end: number): Generator<Piece> {
    for (const [paragraphStart, paragraphEnd] of paragraphsOf(this.text, start, end)) {
      const paragraph = { start: paragraphStart, end: paragraphEnd, ...measure(this.text, paragraphStart, paragraphEnd) };
      if (tokensOf(paragraph.words, paragraph.weight) <= this.#pieceBudget) {
        yield paragraph;
        continue;
      }
      for (const [sentenceStart, sentenceEnd] of this.#sentencesOf(paragraphStart, paragraphEnd)) {
        const sentence = { start: sentenceStart, end: sentenceEnd, ...measure(this.text, sentenceStart, sentenceEnd) };
        if (tokensOf(sentence.words, sentence.weight) <= this.#pieceBudget) yield sentence;
        else yield* this.#wordRunsOf(sentenceStart, sentenceEnd, this.#pieceBudget);
      }
    }
  }

  /** Trimmed sentence ranges in [start, end). Line breaks inside a paragraph are read as spaces (PDF lines, wrapped text). */
  *#sentencesOf(start: number, end: number): Generator<[number, number]> {
    const flat = this.text.slice(start, end).replace(/[\n\r]/g, ' ');
    for (const { index, segment } of this.#sentences.segment(flat)) {
      const [from, to] = trimRange(this.text, start + index, start + index + segment.length);
      if (from < to) yield [from, to];
    }
  }

  /** Greedy runs of whole words, each within `budget`; a word too long for any run is cut at word-segmenter, then character, boundaries. */
  *#wordRunsOf(start: number, end: number, budget: number): Generator<Piece> {
    let run: Piece | undefined;
    for (const [wordStart, wordEnd] of wordsOf(this.text, start, end)) {
      const word = measure(this.text, wordStart, wordEnd);
      if (tokensOf(1, word.weight) > budget) {
        if (run) yield run;
        run = undefined;
        yield* this.#cutLongWord(wordStart, wordEnd, budget);
        continue;
      }
      if (run) {
        const weight = run.weight + (wordStart - run.end) + word.weight;
        if (tokensOf(run.words + 1, weight) <= budget) {
          run = { start: run.start, end: wordEnd, words: run.words + 1, weight };
          continue;
        }
        yield run;
      }
      run = { start: wordStart, end: wordEnd, words: 1, weight: word.weight };
    }
    if (run) yield run;
  }

  /** Cuts a whitespace-free run (CJK text, a URL, base64) into parts within `budget`, at word boundaries where it has them. */
  *#cutLongWord(start: number, end: number, budget: number): Generator<Piece> {
    const maxWeight = budget * 4;
    let partStart = start;
    let partWeight = 0;
    for (const { index, segment } of this.#words.segment(this.text.slice(start, end))) {
      const segmentStart = start + index;
      const segmentWeight = measure(this.text, segmentStart, segmentStart + segment.length).weight;
      if (partWeight + segmentWeight > maxWeight && partWeight > 0) {
        yield { start: partStart, end: segmentStart, words: 1, weight: partWeight };
        partStart = segmentStart;
        partWeight = 0;
      }
      if (segmentWeight <= maxWeight) {
        partWeight += segmentWeight;
        continue;
      }
      // One segment too long for a chunk (base64, a minified line): cut between code points.
      let at = segmentStart;
      for (const char of segment) {
        const charWeight = measure(char, 0, char.length).weight;
        if (partWeight + charWeight > maxWeight) {
          yield { start: partStart, end: at, words: 1, weight: partWeight };
          partStart = at;
          partWeight = 0;
        }
        partWeight += charWeight;
        at += char.length;
      }
    }
    if (partWeight > 0) yield { start: partStart, end, words: 1, weight: partWeight };
  }

  /**
   * Where the chunk after [chunkStart, chunkEnd) starts: the earliest sentence (or paragraph) start in the previous
   * chunk whose tail fits `overlapTokens` and, with `next`, `maxTokens`; failing that, the earliest word start that
   * does. `start` is `chunkEnd` when nothing fits.
   */
  #overlapBefore(chunkStart: number, chunkEnd: number, next: Piece): Tail {
    const none = { start: chunkEnd, words: 0, weight: 0 };
    if (this.overlapTokens === 0) return none;
    // A tail within overlapTokens is at most overlapTokens × 4 characters; look further back for sentence context.
    const windowStart = Math.max(chunkStart, chunkEnd - this.overlapTokens * 4);
    const contextStart = Math.max(chunkStart, windowStart - 400);
    const sentenceStarts = new Set<number>();
    // The first range found from contextStart is cut by the context window unless the context is the whole chunk.
    let first = contextStart !== chunkStart;
    for (const [sentenceStart] of this.#sentencesOf(contextStart, chunkEnd)) {
      if (!first && sentenceStart >= windowStart) sentenceStarts.add(sentenceStart);
      first = false;
    }
    first = contextStart !== chunkStart;
    for (const [paragraphStart] of paragraphsOf(this.text, contextStart, chunkEnd)) {
      if (!first && paragraphStart >= windowStart) sentenceStarts.add(paragraphStart);
      first = false;
    }
    const bySentence = this.#longestFittingTail([...sentenceStarts].sort((a, b) => a - b), chunkEnd, next);
    if (bySentence) return bySentence;
    const wordStarts: number[] = [];
    for (const [wordStart] of wordsOf(this.text, windowStart, chunkEnd)) {
      // The window may begin inside a word.
      if (wordStart === windowStart && windowStart > chunkStart && !isSpace(this.text.charCodeAt(windowStart - 1))) continue;
      wordStarts.push(wordStart);
    }
    return this.#longestFittingTail(wordStarts, chunkEnd, next) ?? none;
  }

  /** The earliest of the ascending `starts` whose tail up to `end` fits as overlap before `next`; linear in the tail. */
  #longestFittingTail(starts: number[], end: number, next: Piece): Tail | undefined {
    let best: Tail | undefined;
    let words = 0;
    let weight = 0;
    let measuredFrom = end;
    for (let i = starts.length - 1; i >= 0; i -= 1) {
      const start = starts[i]!;
      // Candidates are word starts, so the measures of consecutive stretches add up exactly.
      const added = measure(this.text, start, measuredFrom);
      words += added.words;
      weight += added.weight;
      measuredFrom = start;
      const fits =
        tokensOf(words, weight) <= this.overlapTokens &&
        tokensOf(words + next.words, weight + (next.start - end) + next.weight) <= this.maxTokens;
      if (!fits) break;
      best = { start, words, weight };
    }
    return best;
  }
}

interface Tail {
  start: number;
  words: number;
  weight: number;
}

/** Sections between headings. Headings inside fenced code blocks are text. */
function sectionsOf(text: string): Section[] {
  const sections: Section[] = [];
  const headings: { level: number; title: string }[] = [];
  let bodyStart = 0;
  let fence: string | undefined;
  let previousLine: { start: number; end: number; blank: boolean; afterBlank: boolean } | undefined;
  const startSection = (bodyEnd: number, level: number, title: string, nextBodyStart: number) => {
    sections.push({ headingPath: headings.map((heading) => heading.title), start: bodyStart, end: bodyEnd });
    while (headings.length > 0 && headings[headings.length - 1]!.level >= level) headings.pop();
    if (title !== '') headings.push({ level, title });
    bodyStart = nextBodyStart;
  };
  for (let lineStart = 0; lineStart <= text.length; ) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    const line = text.slice(lineStart, lineEnd);
    const next = lineEnd + 1;
    const fenceMatch = FENCE.exec(line);
    if (fence !== undefined) {
      if (fenceMatch && fenceMatch[1]![0] === fence[0] && fenceMatch[1]!.length >= fence.length && fenceMatch[2]!.trim() === '') fence = undefined;
    } else if (fenceMatch) {
      fence = fenceMatch[1]!;
    } else {
      const atx = ATX_HEADING.exec(line);
      const setext = SETEXT_UNDERLINE.exec(line);
      if (atx) {
        startSection(lineStart, atx[1]!.length, cleanHeading(atx[2] ?? ''), next);
        previousLine = undefined;
        lineStart = next;
        continue;
      }
      // A one-line paragraph underlined with === or ---: a setext heading.
      if (setext && previousLine && !previousLine.blank && previousLine.afterBlank) {
        const title = cleanHeading(text.slice(previousLine.start, previousLine.end));
        startSection(previousLine.start, setext[1]![0] === '=' ? 1 : 2, title, next);
        previousLine = undefined;
        lineStart = next;
        continue;
      }
    }
    const blank = line.trim() === '';
    previousLine = { start: lineStart, end: lineEnd, blank, afterBlank: previousLine === undefined || previousLine.blank };
    if (fence !== undefined) previousLine.afterBlank = false;
    lineStart = next;
  }
  sections.push({ headingPath: headings.map((heading) => heading.title), start: bodyStart, end: text.length });
  return sections;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*\r?$/;
const SETEXT_UNDERLINE = /^ {0,3}(=+|-+)[ \t]*\r?$/;

function cleanHeading(raw: string): string {
  return raw.replace(/\\([#*_`])/g, '$1').replace(/\s+/g, ' ').trim();
}

/** Paragraph ranges (split at blank lines), trimmed, in [start, end). Scans only [start, end). */
function* paragraphsOf(text: string, start: number, end: number): Generator<[number, number]> {
  let paragraphStart = start;
  let newline = newlineIn(text, start, end);
  while (newline >= 0) {
    // Is the next line blank? Look only as far as its end.
    let i = newline + 1;
    while (i < end && text.charCodeAt(i) !== 0x0a && isSpace(text.charCodeAt(i))) i += 1;
    if (i < end && text.charCodeAt(i) === 0x0a) {
      const [from, to] = trimRange(text, paragraphStart, newline);
      if (from < to) yield [from, to];
      paragraphStart = i;
      newline = i;
    } else {
      newline = newlineIn(text, newline + 1, end);
    }
  }
  const [from, to] = trimRange(text, paragraphStart, end);
  if (from < to) yield [from, to];
}

/** The first line feed in [start, end), or -1; never looks past `end`. */
function newlineIn(text: string, start: number, end: number): number {
  for (let i = start; i < end; i += 1) if (text.charCodeAt(i) === 0x0a) return i;
  return -1;
}

/** Whitespace-separated word ranges in [start, end). */
function* wordsOf(text: string, start: number, end: number): Generator<[number, number]> {
  let wordStart = -1;
  for (let i = start; i < end; i += 1) {
    if (isSpace(text.charCodeAt(i))) {
      if (wordStart >= 0) yield [wordStart, i];
      wordStart = -1;
    } else if (wordStart < 0) wordStart = i;
  }
  if (wordStart >= 0) yield [wordStart, end];
}

function trimRange(text: string, start: number, end: number): [number, number] {
  while (start < end && isSpace(text.charCodeAt(start))) start += 1;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end -= 1;
  return [start, end];
}

/** Words and weighted characters of [start, end), in one pass and no allocation. */
function measure(text: string, start: number, end: number): { words: number; weight: number } {
  let words = 0;
  let weight = 0;
  let inWord = false;
  for (let i = start; i < end; i += 1) {
    const code = text.charCodeAt(i);
    weight += weightOf(code);
    if (isSpace(code)) inWord = false;
    else if (!inWord) {
      inWord = true;
      words += 1;
    }
  }
  return { words, weight };
}

function tokensOf(words: number, weight: number): number {
  return Math.max(Math.ceil((words * 13) / 10), Math.ceil(weight / 4));
}

/** CJK ideographs, kana, hangul and full-width forms are about a token each: 4 characters' worth. */
function weightOf(code: number): number {
  if (code < 0x3000) return 1;
  if (code <= 0x9fff || (code >= 0xac00 && code <= 0xd7af) || (code >= 0xf900 && code <= 0xfaff) || (code >= 0xff00 && code <= 0xffef)) return 4;
  return 1;
}

function isSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0xa0 || code === 0x3000 || code === 0x2028 || code === 0x2029 || code === 0xfeff || (code >= 0x2000 && code <= 0x200a);
}
