import { DataSet, RegExpMatcher, englishDataset, englishRecommendedTransformers, pattern } from 'obscenity';
import type { FlaggedSpan, Guard, GuardSubject, GuardVerdict } from './guard.js';
import { runScanToEnd, runScanWithPauses, subjectName, type GuardScan } from './guardScan.js';

/**
 * Words of obscenity's English list that name a body part, a crime or a subject in plain terms: a question about
 * anal cancer, reporting a rape, or the Negro Leagues is not abuse. Slurs, insults and profanity stay.
 */
export const NOT_ABUSIVE_WORDS: readonly string[] = [
  'anal',
  'anus',
  'bestiality',
  'ejaculate',
  'hooker',
  'incest',
  'masturbate',
  'negro',
  'orgasm',
  'penis',
  'porn',
  'rape',
  'scat',
  'semen',
  'sex',
  'vagina',
];

/** Ordinary words and names the list would otherwise catch (measured in abuseSamples.ts). Lower case, as matched. */
const ORDINARY_TERMS = [
  'cockpit', 'cockatoo', 'cockatiel', 'cockroach', 'cockerel', 'cockle', 'cocker spaniel', 'cocksure',
  'blue tit', 'great tit', 'coal tit', 'marsh tit', 'willow tit', 'crested tit', 'long-tailed tit', 'bearded tit', 'tit for tat',
  'moby dick', 'moby-dick', 'philip k. dick', 'dick van dyke', 'dick cheney', 'spotted dick', 'dick francis',
  'cum laude', 'magna cum', 'summa cum', 'cum-ex', 'cum ex',
  'fukushima', 'fukuoka', 'fukui', 'fukuyama',
  'prick my', 'prick the', 'prick your', 'prick it', 'pricks of',
  'flame retardant', 'fire retardant', 'retardant', 'retardation',
  'shitake', 'shiitake', 'shitzu',
];

function buildDataset(): DataSet<{ originalWord: string }> {
  const notAbusive = new Set(NOT_ABUSIVE_WORDS);
  return (
    new DataSet<{ originalWord: string }>()
      .addAll(englishDataset)
      .removePhrasesIf((phrase) => notAbusive.has(phrase.metadata?.originalWord ?? '') || phrase.metadata?.originalWord === 'fuck')
      // The list's "fuck" without its bare "fu" (a surname, kung fu), and with common respellings.
      .addPhrase((phrase) =>
        phrase
          .setMetadata({ originalWord: 'fuck' })
          .addPattern(pattern`f[?]ck`)
          .addPattern(pattern`|fk|`)
          .addPattern(pattern`|fkn|`)
          .addPattern(pattern`|fuk`)
          .addPattern(pattern`|phuck`)
          .addPattern(pattern`|phuk`)
          .addPattern(pattern`|fcuk`)
          .addPattern(pattern`|fck`)
          .addWhitelistedTerm('fick')
          .addWhitelistedTerm('kung-fu')
          .addWhitelistedTerm('kung fu'),
      )
      .addPhrase((phrase) => {
        phrase.setMetadata({ originalWord: 'ordinary' });
        for (const term of ORDINARY_TERMS) phrase.addWhitelistedTerm(term);
        return phrase;
      })
  );
}

let sharedMatcher: { matcher: RegExpMatcher; dataset: DataSet<{ originalWord: string }> } | undefined;

/** Built once, on first use (tens of milliseconds): the guard costs nothing at startup. */
function abuseMatcher(): RegExpMatcher {
  if (sharedMatcher === undefined) {
    const dataset = buildDataset();
    sharedMatcher = { dataset, matcher: new RegExpMatcher({ ...dataset.build(), ...englishRecommendedTransformers }) };
  }
  return sharedMatcher.matcher;
}

/**
 * Letters spelled out one by one: "f u c k", "s.h.i.t", "c-u-n-t". obscenity's English transformers do not skip
 * separators (that would find "ass" in "glass sunglasses"), so such runs are joined and matched on their own. Commas
 * separate list items ("plan A, S, S"), not letters.
 * Character and separator classes do not overlap, so the pattern cannot backtrack badly.
 */
const SPELLED_OUT = /(?<![\p{L}\p{N}])[\p{L}\p{N}$@!](?:[ .\-_*+·]{1,2}[\p{L}\p{N}$@!]){2,}(?![\p{L}\p{N}])/gu;

/** Text matched at a time, so that a long text can pause between pieces and be cancelled. */
const PIECE_CHARS = 16_384;

/** Abusive words in `text` (obfuscated ones too), as sorted, non-overlapping spans of kind ABUSE. */
export function findAbuse(text: string): FlaggedSpan[] {
  return runScanToEnd(scanAbuse(text));
}

function* scanAbuse(text: string): GuardScan<FlaggedSpan[]> {
  const matcher = abuseMatcher();
  const spans: FlaggedSpan[] = [];
  for (const piece of pieces(text)) {
    for (const match of matcher.getAllMatches(text.slice(piece.start, piece.end))) {
      spans.push({ start: piece.start + match.startIndex, end: piece.start + match.endIndex + 1, kind: 'ABUSE' });
    }
    yield;
  }
  // Spelled-out runs with two letters or more, joined by spaces into one text per piece (one matcher call, not one
  // per run: a page of "3-4.5" would otherwise cost a call each).
  let joined = '';
  let origins: number[] = [];
  const matchJoined = () => {
    for (const match of matcher.getAllMatches(joined)) {
      // A match across the space between two runs ("f[?]ck" over "…f" + " " + "ck…") is no word of either.
      if (origins.slice(match.startIndex, match.endIndex + 1).includes(-1)) continue;
      spans.push({ start: origins[match.startIndex]!, end: origins[match.endIndex]! + 1, kind: 'ABUSE' });
    }
    joined = '';
    origins = [];
  };
  for (const run of text.matchAll(SPELLED_OUT)) {
    const letters = [...run[0].matchAll(/[\p{L}\p{N}$@!]/gu)];
    if (letters.filter((letter) => /\p{L}/u.test(letter[0])).length < 2) continue;
    if (joined.length > 0) {
      joined += ' ';
      origins.push(-1);
    }
    for (const letter of letters) {
      joined += letter[0];
      for (let unit = 0; unit < letter[0].length; unit++) origins.push(run.index + letter.index + unit);
    }
    if (joined.length >= PIECE_CHARS) {
      matchJoined();
      yield;
    }
  }
  if (joined.length > 0) matchJoined();
  return mergeSpans(spans);
}

/** Pieces of about PIECE_CHARS, cut at white space so no word is split. */
function* pieces(text: string): Generator<{ start: number; end: number }> {
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + PIECE_CHARS);
    const limit = Math.min(text.length, end + 256);
    while (end < limit && !/\s/.test(text[end]!)) end++;
    yield { start, end };
    start = end;
  }
}

function mergeSpans(spans: FlaggedSpan[]): FlaggedSpan[] {
  const sorted = [...spans].sort((a, b) => a.start - b.start || a.end - b.end);
  const merged: FlaggedSpan[] = [];
  for (const span of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && span.start <= last.end) last.end = Math.max(last.end, span.end);
    else merged.push({ ...span });
  }
  return merged;
}

/** Flags abusive language (profanity, slurs, sexual insults) in the question and each sentence of the answer. */
export function createAbuseGuard(options: { subjects?: readonly GuardSubject[] } = {}): Guard {
  return {
    name: 'abuse',
    subjects: options.subjects ?? ['question', 'answer-sentence'],
    async check(text, context, signal): Promise<GuardVerdict> {
      const spans = await runScanWithPauses(scanAbuse(text), signal);
      if (spans.length === 0) return { outcome: 'pass' };
      return { outcome: 'flag', reason: `The ${subjectName(context.subject)} contains abusive language.`, spans };
    },
    // Whole words before the first abusive one (or an obfuscated one being spelled out) can be shown early.
    releasable: (partial) => {
      const spans = findAbuse(partial);
      const first = spans.length === 0 ? partial.length : Math.min(...spans.map((span) => span.start));
      const wordStart = partial.slice(0, first).search(/\S*$/u);
      // A word being spelled out letter by letter ("f u c") is not recognisable yet: held back too.
      const spelled = partial.search(/(?:(?<![\p{L}\p{N}])\p{L}[\s.\-*_]+)+\p{L}?\s*$/u);
      return Math.max(0, Math.min(first, wordStart, spelled === -1 ? partial.length : spelled));
    },
  };
}
