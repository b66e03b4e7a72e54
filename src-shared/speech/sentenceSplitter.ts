/**
 * Turns a stream of LLM tokens into sentences, each yielded as soon as it is complete, so speech can start
 * before the answer is finished. Boundaries come from `Intl.Segmenter` (Unicode UAX #29) plus three fixes
 * the segmenter lacks: abbreviations ("Dr.", "e.g."), list markers ("1.") and fenced code blocks.
 *
 * Emitted sentences are trimmed; joined together they hold every non-whitespace character of the input,
 * in order, and the same input gives the same sentences however it is cut into tokens.
 */

export interface SentenceSplitterOptions {
  /** BCP 47 locale for `Intl.Segmenter`. */
  locale?: string;
  /** A run-on sentence longer than this is cut at a comma or space so speech is not held up. */
  maxSentenceChars?: number;
}

const DEFAULT_MAX_SENTENCE_CHARS = 250;

/** Words that end in a period without ending the sentence; the segmenter breaks after them. */
const ABBREVIATION_AT_END = /(?:^|[\s(])(?:mr|mrs|ms|dr|prof|sr|jr|st|mt|vs|fig|approx|e\.g|i\.e|cf)\.["')\]]*\s*$/iu;
/** An initial, as in "J. R. R. Tolkien". */
const INITIAL_AT_END = /(?:^|[\s(])\p{Lu}\.\s*$/u;
/** "1.", "a)", "iv." on their own are list markers, not sentences. */
const LIST_MARKER_ONLY = /^\s*(?:\d{1,3}|\p{L}|i{1,3}|iv|vi{0,3}|ix)[.)]\s*$/iu;
const HAS_WORD_CHARACTER = /[\p{L}\p{N}]/u;
/** Once one of these follows a boundary, the segmenter's decision about it can no longer change (UAX #29 SB8). */
const SETTLES_BOUNDARY = /[\p{L}\n\r\u0085\u2028\u2029]/u;
const ENDS_WITH_LINE_BREAK = /[\n\r\u0085\u2028\u2029][ \t]*$/u;
const FENCE_OPENING_AT_START = /^\s*(`{3,}|~{3,})/;
const FENCE_OPENING_AT_LINE_START = /(?:^|\n)([ \t]*(?:`{3,}|~{3,}))/;

export class StreamingSentenceSplitter {
  private readonly segmenter: Intl.Segmenter;
  private readonly maxSentenceChars: number;
  private pending = '';

  constructor(options: SentenceSplitterOptions = {}) {
    this.segmenter = new Intl.Segmenter(options.locale ?? 'en', { granularity: 'sentence' });
    this.maxSentenceChars = options.maxSentenceChars ?? DEFAULT_MAX_SENTENCE_CHARS;
  }

  /** Adds streamed text; returns the sentences it completed (often none). */
  push(token: string): string[] {
    this.pending += token;
    return this.drain(false);
  }

  /** Ends the stream: returns whatever is left, and resets the splitter for the next answer. */
  flush(): string[] {
    const sentences = this.drain(true);
    this.pending = '';
    return sentences;
  }

  private drain(endOfStream: boolean): string[] {
    const sentences: string[] = [];
    for (;;) {
      const length = this.nextSentenceLength(endOfStream);
      if (length === 0) return sentences;
      const sentence = this.pending.slice(0, length).trim();
      this.pending = this.pending.slice(length);
      if (sentence !== '') sentences.push(sentence);
    }
  }

  /** How many characters at the start of `pending` form a finished sentence; 0 if none is finished yet. */
  private nextSentenceLength(endOfStream: boolean): number {
    const text = this.pending;
    if (text === '') return 0;

    const fence = FENCE_OPENING_AT_START.exec(text);
    if (fence?.[1] !== undefined) return this.fencedBlockLength(text, fence[1], endOfStream);

    // Prose runs up to the next code fence; a fence always starts a new sentence.
    const fenceInside = FENCE_OPENING_AT_LINE_START.exec(text);
    const proseEnd = fenceInside === null ? text.length : fenceInside.index + fenceInside[0].length - (fenceInside[1]?.length ?? 0);
    const prose = text.slice(0, proseEnd);
    const proseIsComplete = endOfStream || fenceInside !== null;

    const units = this.sentenceUnits(prose);
    const first = units[0];
    if (first === undefined) return 0;

    if (first.text.length > this.maxSentenceChars) return this.forcedCutLength(first.text);

    const isLast = units.length === 1;
    if (isLast) {
      if (proseIsComplete) return first.text.length;
      return !first.needsNext && ENDS_WITH_LINE_BREAK.test(first.text) ? first.text.length : 0;
    }
    const settled = proseIsComplete || ENDS_WITH_LINE_BREAK.test(first.text) || SETTLES_BOUNDARY.test(text.slice(first.text.length));
    return settled ? first.text.length : 0;
  }

  /** Segments `prose` and glues list markers, abbreviations and word-less bits onto what follows them. */
  private sentenceUnits(prose: string): { text: string; needsNext: boolean }[] {
    const units: { text: string; needsNext: boolean }[] = [];
    let current = '';
    for (const { segment } of this.segmenter.segment(prose)) {
      current += segment;
      if (!needsFollowingText(current)) {
        units.push({ text: current, needsNext: false });
        current = '';
      }
    }
    if (current !== '') units.push({ text: current, needsNext: true });
    return units;
  }

  /** A fenced block is one unit (the speakable-text cleaner drops it); it ends after its closing fence line. */
  private fencedBlockLength(text: string, marker: string, endOfStream: boolean): number {
    const firstLineEnd = text.indexOf('\n', text.indexOf(marker));
    if (firstLineEnd === -1) return endOfStream ? text.length : 0;
    const closingFence = new RegExp(`\\n[ \\t]*${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*(\\n|$)`, 'g');
    closingFence.lastIndex = firstLineEnd;
    const closing = closingFence.exec(text);
    if (closing === null || (closing[1] === '' && !endOfStream)) return endOfStream ? text.length : 0;
    return closing.index + closing[0].length;
  }

  /** Where to cut an over-long sentence: after the last comma-like mark, else the last space, within the limit. */
  private forcedCutLength(sentence: string): number {
    const head = sentence.slice(0, this.maxSentenceChars);
    const clauseEnd = Math.max(...[', ', '; ', ': ', ' - ', ' – ', ' — '].map((mark) => {
      const at = head.lastIndexOf(mark);
      return at === -1 ? -1 : at + mark.length;
    }));
    if (clauseEnd > this.maxSentenceChars / 3) return clauseEnd;
    const space = head.search(/\s\S*$/);
    return space > 0 ? space + 1 : this.maxSentenceChars;
  }
}

function needsFollowingText(text: string): boolean {
  return !HAS_WORD_CHARACTER.test(text) || LIST_MARKER_ONLY.test(text) || ABBREVIATION_AT_END.test(text) || INITIAL_AT_END.test(text);
}
