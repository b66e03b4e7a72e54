/**
 * Text folded for matching injection patterns, with a map back to the original so that a match can be reported as a
 * span of what the user typed. Folding undoes the cheap disguises: compatibility forms (full-width letters,
 * ligatures), case, accents, invisible characters (zero-width, bidi controls, soft hyphens, Unicode tag characters,
 * whose ASCII meaning is kept), look-alike Cyrillic and Greek letters, leetspeak inside words ("1gn0r3"), spaced or
 * dotted letters ("i g n o r e", "d.i.s.r.e.g.a.r.d"), words each closed by a stop ("IGNORE. ALL. PREVIOUS.") and runs
 * of whitespace.
 */
export interface FoldedText {
  text: string;
  /** For each UTF-16 unit of `text`: the original offset where the character it came from starts. */
  starts: Uint32Array;
  /** …and where it ends. */
  ends: Uint32Array;
  /**
   * For each UTF-16 unit of `text`: 1 when it was disguised in the original (spelled with spaces or dots between
   * letters, as a leetspeak digit, as a look-alike letter or tag character, or followed by a zero-width or bidi
   * control). Hiding a word this way is itself a sign of an attack.
   */
  disguised: Uint8Array;
  /** True when a digit 1 inside a word was read as "i": the caller may also try reading it as "l" ("ru1es"). */
  hadLeetOne: boolean;
}

export interface FoldOptions {
  /** How a 1 inside a word is read (default "i"). */
  leetOne?: 'i' | 'l';
}

/** The original span `[start, end)` of the folded text's units `[start, end)`. */
export function originalSpan(folded: FoldedText, start: number, end: number): { start: number; end: number } {
  if (folded.text.length === 0 || end <= start) return { start: 0, end: 0 };
  const first = Math.min(Math.max(start, 0), folded.text.length - 1);
  const last = Math.min(Math.max(end - 1, first), folded.text.length - 1);
  return { start: folded.starts[first]!, end: folded.ends[last]! };
}

export function foldForMatching(original: string, options: FoldOptions = {}): FoldedText {
  const folded = foldCharacters(original);
  const joined = joinPunctuatedWords(joinSpacedLetters(folded));
  const leet = undoLeetspeak(joined, options.leetOne ?? 'i');
  const collapsed = collapseWhitespace(leet.mapped);
  return {
    text: collapsed.text,
    starts: Uint32Array.from(collapsed.starts),
    ends: Uint32Array.from(collapsed.ends),
    disguised: Uint8Array.from(collapsed.disguised),
    hadLeetOne: leet.hadOne,
  };
}

/** Whether any unit of the folded text in `[start, end)` was disguised in the original. */
export function isDisguised(folded: FoldedText, start: number, end: number): boolean {
  for (let i = Math.max(0, start); i < Math.min(end, folded.disguised.length); i += 1) if (folded.disguised[i] === 1) return true;
  return false;
}

/** Text under construction with per-unit original spans and disguise marks. */
interface Mapped {
  text: string;
  starts: number[];
  ends: number[];
  disguised: number[];
}

class MappedBuilder {
  readonly #parts: string[] = [];
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  readonly disguised: number[] = [];

  push(units: string, start: number, end: number, disguised: number): void {
    if (units.length === 0) return;
    this.#parts.push(units);
    for (let i = 0; i < units.length; i += 1) {
      this.starts.push(start);
      this.ends.push(end);
      this.disguised.push(disguised);
    }
  }

  build(): Mapped {
    return { text: this.#parts.join(''), starts: this.starts, ends: this.ends, disguised: this.disguised };
  }
}

// Format characters (zero-width space/joiners, bidi controls, soft hyphen, word joiner, BOM, tags) and Hangul fillers
// render as nothing and are used to split words so that filters miss them.
const INVISIBLE = /^[\p{Cf}\u034f\u115f\u1160\u3164\uffa0]$/u;
const MARKS = /\p{M}/gu;
// The invisible characters that split a word only to hide it. Soft hyphens and direction marks are left out: web pages
// and right-to-left text carry them innocently.
const HIDING = /^[\u200b-\u200d\u2060-\u2064\ufeff\u180e\u202a-\u202e\u2066-\u2069]$/u;
const WHITESPACE = /^\s$/u;

// Letters that look like Latin ones: enough to undo the usual homoglyph spelling of English and European words.
const LOOK_ALIKES: Readonly<Record<string, string>> = {
  а: 'a', в: 'b', е: 'e', ё: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x', і: 'i', ї: 'i',
  ј: 'j', ѕ: 's', ԁ: 'd', ԛ: 'q', ԝ: 'w', һ: 'h', ո: 'n', ս: 'u', α: 'a', β: 'b', ε: 'e', ι: 'i', κ: 'k', ν: 'v',
  ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x', ɡ: 'g', ɩ: 'i', ı: 'i', ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', ł: 'l', đ: 'd',
  '\u2018': "'", '\u2019': "'", '\u201a': "'", '\u201b': "'", '\u02bc': "'", '\u00b4': "'", '`': "'",
  '\u201c': '"', '\u201d': '"', '\u201e': '"', '\u00ab': '"', '\u00bb': '"',
  '\u2010': '-', '\u2011': '-', '\u2012': '-', '\u2013': '-', '\u2014': '-', '\u2212': '-',
};

const foldedNonAscii = new Map<string, string>();

/** One code point folded: compatibility-decomposed, without marks, lower case, look-alikes replaced. */
function foldCodePoint(character: string, codePoint: number): string {
  if (codePoint < 0x80) {
    if (codePoint >= 0x41 && codePoint <= 0x5a) return String.fromCharCode(codePoint + 32);
    if (character === '\n' || character === '\r') return '\n';
    if (codePoint < 0x20 || codePoint === 0x7f) return codePoint === 0x09 || codePoint === 0x0b || codePoint === 0x0c ? ' ' : '';
    return character === '`' ? "'" : character;
  }
  // Tag characters spell ASCII invisibly ("ASCII smuggling"): read them as the ASCII they stand for.
  if (codePoint >= 0xe0020 && codePoint <= 0xe007e) return String.fromCharCode(codePoint - 0xe0000).toLowerCase();
  const known = foldedNonAscii.get(character);
  if (known !== undefined) return known;
  let folded: string;
  if (INVISIBLE.test(character)) folded = '';
  else if (character === '\u2028' || character === '\u2029' || character === '\u0085') folded = '\n';
  else if (WHITESPACE.test(character)) folded = ' ';
  else {
    const lower = character.toLowerCase();
    folded = LOOK_ALIKES[lower] ?? lower.normalize('NFKD').replace(MARKS, '').toLowerCase();
    folded = [...folded].map((unit) => LOOK_ALIKES[unit] ?? unit).join('');
  }
  if (foldedNonAscii.size < 10_000) foldedNonAscii.set(character, folded);
  return folded;
}

function foldCharacters(original: string): Mapped {
  const builder = new MappedBuilder();
  let offset = 0;
  for (const character of original) {
    const length = character.length;
    const codePoint = character.codePointAt(0)!;
    const folded = foldCodePoint(character, codePoint);
    if (folded === '' && HIDING.test(character) && builder.disguised.length > 0) builder.disguised[builder.disguised.length - 1] = 1;
    builder.push(folded, offset, offset + length, codePoint >= 0x80 && isLookAlike(character) ? 1 : 0);
    offset += length;
  }
  return builder.build();
}

/** A Cyrillic or Greek letter standing in for a Latin one, or a tag character spelling ASCII. */
function isLookAlike(character: string): boolean {
  const codePoint = character.codePointAt(0)!;
  if (codePoint >= 0xe0020 && codePoint <= 0xe007e) return true;
  return LOOK_ALIKES[character.toLowerCase()] !== undefined && /[\p{Script=Cyrillic}\p{Script=Greek}]/u.test(character);
}

// Three or more single letters, each separated from the next by the same single space or mark: the spacing trick. A
// longer gap ("i g n o r e  a l l") or another mark ("i-g-n-o-r-e t-h-e") separates words.
const LETTER = /\p{L}/u;
const SPACED_LETTERS = /(?<![\p{L}\p{N}])\p{L}([ .\-_*·•/~+|,:])\p{L}(?:\1\p{L})+(?![\p{L}\p{N}])/gu;

function joinSpacedLetters(input: Mapped): Mapped {
  if (!SPACED_LETTERS.test(input.text)) return input;
  SPACED_LETTERS.lastIndex = 0;
  const builder = new MappedBuilder();
  let copied = 0;
  for (const match of input.text.matchAll(SPACED_LETTERS)) {
    const start = match.index;
    copyRange(builder, input, copied, start);
    // Keep the letters, drop the separators.
    let i = start;
    for (const character of match[0]) {
      if (LETTER.test(character)) copyRange(builder, input, i, i + character.length, 1);
      i += character.length;
    }
    copied = start + match[0].length;
  }
  copyRange(builder, input, copied, input.text.length);
  return builder.build();
}

// Three or more single words, each followed by a stop or other mark and a space: "ignore. all. previous. instructions."
const PUNCTUATED_WORDS = /(?<!\p{L})(?:\p{L}+[.,;:!*_|~]+ ){2,}\p{L}+/gu;
const MARK_BEFORE_SPACE = /^[.,;:!*_|~]+ /;

function joinPunctuatedWords(input: Mapped): Mapped {
  if (!PUNCTUATED_WORDS.test(input.text)) return input;
  PUNCTUATED_WORDS.lastIndex = 0;
  const builder = new MappedBuilder();
  let copied = 0;
  for (const match of input.text.matchAll(PUNCTUATED_WORDS)) {
    copyRange(builder, input, copied, match.index);
    for (let i = 0; i < match[0].length; i += 1) {
      if (MARK_BEFORE_SPACE.test(match[0].slice(i, i + 10))) continue;
      copyRange(builder, input, match.index + i, match.index + i + 1);
    }
    copied = match.index + match[0].length;
  }
  copyRange(builder, input, copied, input.text.length);
  return builder.build();
}

const LEET: Readonly<Record<string, string>> = { '0': 'o', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's' };
const WORD_WITH_SYMBOLS = /[\p{L}\p{N}@$]+/gu;
const HAS_LEET = /[013457@$]/;

function undoLeetspeak(input: Mapped, one: 'i' | 'l'): { mapped: Mapped; hadOne: boolean } {
  if (!HAS_LEET.test(input.text)) return { mapped: input, hadOne: false };
  const units = input.text.split('');
  const disguised = [...input.disguised];
  let changed = false;
  let hadOne = false;
  for (const match of input.text.matchAll(WORD_WITH_SYMBOLS)) {
    const word = match[0];
    // Only words that mix letters with look-alike digits: "200" or "mp3"-style numbers stay as they are.
    if (!LETTER.test(word) || !/[013457@$]/.test(word) || word.replace(/[^\p{L}]/gu, '').length < 2) continue;
    for (let i = 0; i < word.length; i += 1) {
      const unit = word[i]!;
      const replacement = unit === '1' ? one : LEET[unit];
      if (replacement === undefined) continue;
      if (unit === '1') hadOne = true;
      units[match.index + i] = replacement;
      disguised[match.index + i] = 1;
      changed = true;
    }
  }
  return { mapped: changed ? { text: units.join(''), starts: input.starts, ends: input.ends, disguised } : input, hadOne };
}

function collapseWhitespace(input: Mapped): Mapped {
  const builder = new MappedBuilder();
  const text = input.text;
  let i = 0;
  while (i < text.length) {
    const unit = text[i]!;
    if (unit !== ' ' && unit !== '\n') {
      let j = i + 1;
      while (j < text.length && text[j] !== ' ' && text[j] !== '\n') j += 1;
      copyRange(builder, input, i, j);
      i = j;
      continue;
    }
    let j = i;
    let newline = false;
    while (j < text.length && (text[j] === ' ' || text[j] === '\n')) {
      if (text[j] === '\n') newline = true;
      j += 1;
    }
    builder.push(newline ? '\n' : ' ', input.starts[i]!, input.ends[j - 1]!, 0);
    i = j;
  }
  return builder.build();
}

function copyRange(builder: MappedBuilder, input: Mapped, from: number, to: number, disguised?: number): void {
  for (let i = from; i < to; i += 1) builder.push(input.text[i]!, input.starts[i]!, input.ends[i]!, disguised ?? input.disguised[i]!);
}
