import { StreamingSentenceSplitter } from '../../../src-shared/speech/sentenceSplitter.js';
import { toSpeakableText } from '../../../src-shared/speech/speakableText.js';

/**
 * Where a clause may end: a comma, semicolon or colon with whitespace after it (so never inside "1,000" or "10:30"),
 * a spaced dash ("x — y", "x – y", "x - y", "x -- y"), or an em dash between words ("x—y"). An en dash between
 * numbers ("10–20") is a range, not a boundary.
 */
const CLAUSE_BOUNDARY = /[,;:](?=\s)|\s(?:—|–|--?)(?=\s)|—(?=\p{L})/gu;
/** The end of a sentence, or a line break (a heading, a list item, a table row). */
const SENTENCE_END = /[.!?…]["'”’)\]]*(?:\s|$)|\n/u;
const WORD = /[\p{L}\p{N}]+/gu;
/** The clause as spoken must be at least this long, so a short sentence is spoken whole, not in bits. */
export const MIN_CLAUSE_CHARS = 24;
export const MIN_CLAUSE_WORDS = 4;
/** When the whole sentence is there, what follows the clause must be at least this many words to be worth a pause. */
export const MIN_REST_WORDS = 4;
/**
 * A longer clause is not spoken early: it would gain little, and it stays well inside the splitter's cut of a run-on
 * sentence (250 characters) even if that limit is lowered.
 */
export const MAX_CLAUSE_CHARS = 200;
/**
 * Stands for whatever may follow a clause, at its likeliest to end the sentence early: a space, then capitals (a new
 * sentence; no lower-case word that would keep "etc. " or "p.m. " inside this one), and enough of them that the
 * splitter cuts a run-on sentence as it would once the text outgrew its limit.
 */
const WORST_CONTINUATION = ` ${'X'.repeat(300)}`;

/**
 * The first clause of the first sentence of an answer, to be spoken before the rest of it: `text` is the answer as
 * shown so far, while its first sentence is being written or once it is complete. The clause ends at the first
 * clause boundary with at least MIN_CLAUSE_CHARS characters and MIN_CLAUSE_WORDS words of speakable text before it;
 * it is returned up to and including its punctuation. Undefined: no such boundary yet, or the sentence is complete in
 * `text` and less than MIN_REST_WORDS words follow the clause (a sentence still being written is split whatever
 * follows, as that is not known yet). The clause does not depend on how the text was cut into tokens, so a cached
 * answer is spoken in the same pieces as a generated one.
 *
 * Conservative by design, since the clause may be spoken before the rest of the sentence exists: no clause is sought
 * past a sentence end or a line break (an abbreviation such as "Dr." counts as an end too), and none ends inside
 * unclosed brackets, backticks or an HTML tag, where the markup the speech cleaner removes from the whole sentence
 * (links, citation markers, code) would not be recognised in the clause alone. Nor does a clause ever run past where
 * the agent's sentence splitter could end the first sentence, whatever follows (it also ends one at "?" or "!" with no
 * space after, as in "forecast?city=paris" or "Hello!World", at "。", and cuts a run-on sentence at 250 characters):
 * sentence 0 then starts with the clause, and only its rest is left to say.
 */
export function firstClause(text: string): string | undefined {
  const answer = text.trimStart();
  const end = answer.search(SENTENCE_END);
  const sentence = end === -1 ? answer : answer.slice(0, end);
  const wordCount = (of: string) => of.match(WORD)?.length ?? 0;
  for (const boundary of sentence.matchAll(CLAUSE_BOUNDARY)) {
    const clause = sentence.slice(0, boundary.index + boundary[0].length);
    if (!closesItsMarkup(clause)) continue;
    const spoken = toSpeakableText(clause);
    if (spoken.length < MIN_CLAUSE_CHARS || wordCount(spoken) < MIN_CLAUSE_WORDS) continue;
    // Any later clause is longer still: if this one may not be spoken, none may.
    if (clause.length > MAX_CLAUSE_CHARS || !splitterKeepsWhole(clause)) return undefined;
    const complete = end !== -1;
    return complete && wordCount(sentence.slice(clause.length)) < MIN_REST_WORDS ? undefined : clause;
  }
  return undefined;
}

/**
 * The agent's sentence splitter (the same one, with the same defaults as the answer stream's) keeps `clause` whole in
 * the first sentence of any text that starts with it: its first sentence, followed by the continuation likeliest to
 * end that sentence early, starts with the whole clause.
 */
function splitterKeepsWhole(clause: string): boolean {
  const splitter = new StreamingSentenceSplitter();
  const [first] = [...splitter.push(clause + WORST_CONTINUATION), ...splitter.flush()];
  return first !== undefined && first.startsWith(clause);
}

/** What of a sentence is left to say once a clause has been spoken ahead of it. */
export interface AfterClause {
  /** What of the sentence was not spoken with the clause. */
  rest: string;
  /**
   * The end of the clause, when the sentence ended inside it (the sentence holds only the clause's first words): it
   * was spoken too, and the next sentence should start with it.
   */
  unaccounted?: string;
}

/** How many more words than the clause has the sentence may hold before the clause's end is found in it. */
const RESYNC_SLACK_WORDS = 4;
/** The clause's end is looked for again as its last words, at most this many. */
const RESYNC_WORDS = 3;

/**
 * What is left to say of `sentence` once `spokenClause` has been spoken (both speakable text, as from
 * toSpeakableText), never saying a word twice:
 * - the sentence starts with the clause's words: what follows them and the punctuation that ended the clause;
 * - the sentence is only the clause's first words (it ended inside the clause): nothing, and the rest of the clause as
 *   `unaccounted`, for the next sentence;
 * - the sentence starts with the clause's first words, then differs (a word replaced by a check): what follows the
 *   clause's last words in it, or, if they are not there, what follows as many words as the clause has, which may drop
 *   a word but repeats none;
 * - the sentence does not start with the clause's first word: what follows the clause's last words (two or more) if
 *   they are in it where the clause would end (its first word was replaced); else it is another sentence, returned
 *   whole.
 */
export function afterClause(spokenClause: string, sentence: string): AfterClause {
  const clauseWords = [...spokenClause.matchAll(WORD)];
  const sentenceWords = [...sentence.matchAll(WORD)];
  const same = (a: RegExpMatchArray | undefined, b: RegExpMatchArray | undefined) =>
    a !== undefined && b !== undefined && a[0].toLowerCase() === b[0].toLowerCase();
  if (clauseWords.length === 0) return { rest: sentence };
  let matched = 0;
  while (matched < clauseWords.length && same(clauseWords[matched], sentenceWords[matched])) matched += 1;

  // The punctuation after the clause's last word (",", " —") was spoken with it.
  const lastWord = clauseWords.at(-1)!;
  const closing = spokenClause.slice(lastWord.index + lastWord[0].length).trim();
  const restAfterWord = (index: number) => {
    const word = sentenceWords[index];
    if (word === undefined) return '';
    const rest = sentence.slice(word.index + word[0].length).trimStart();
    return (rest.startsWith(closing) ? rest.slice(closing.length) : rest).trim();
  };

  if (matched === clauseWords.length) return { rest: restAfterWord(matched - 1) };
  if (matched === sentenceWords.length) return { rest: '', unaccounted: spokenClause.slice(clauseWords[matched]!.index) };

  // They differ after `matched` words: look for the clause's last words, not far past where the clause would end.
  const tail = clauseWords.slice(Math.max(matched, clauseWords.length - RESYNC_WORDS));
  // With nothing in common at the start, one common word says nothing: it may be another sentence.
  const lastStart = matched === 0 && tail.length < 2 ? -1 : Math.min(sentenceWords.length, clauseWords.length + RESYNC_SLACK_WORDS) - tail.length;
  for (let start = matched; start <= lastStart; start++) {
    if (tail.every((word, i) => same(word, sentenceWords[start + i]))) return { rest: restAfterWord(start + tail.length - 1) };
  }
  if (matched === 0) return { rest: sentence };
  return { rest: restAfterWord(clauseWords.length - 1) };
}

/** What is left to say of `sentence` once `spokenClause` has been spoken: see afterClause. */
export function restAfterClause(spokenClause: string, sentence: string): string {
  return afterClause(spokenClause, sentence).rest;
}

/** No bracket, parenthesis, backtick pair or HTML tag is left open at the end of `clause`. */
function closesItsMarkup(clause: string): boolean {
  const count = (pattern: RegExp) => clause.match(pattern)?.length ?? 0;
  return (
    count(/\[/g) <= count(/\]/g) &&
    count(/\(/g) <= count(/\)/g) &&
    count(/`/g) % 2 === 0 &&
    !/<\/?[A-Za-z][^>]*$/.test(clause)
  );
}
