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
 * (links, citation markers, code) would not be recognised in the clause alone.
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
    const complete = end !== -1;
    return complete && wordCount(sentence.slice(clause.length)) < MIN_REST_WORDS ? undefined : clause;
  }
  return undefined;
}

/**
 * What is left to say of `sentence` once `spokenClause` has been spoken (both speakable text, as from
 * toSpeakableText): the sentence after the clause's words and the punctuation that ended it. When `sentence` does not
 * start with the clause's words it is another sentence (the one the clause came from was withheld): it is returned
 * whole, so nothing of it is lost.
 */
export function restAfterClause(spokenClause: string, sentence: string): string {
  const clauseWords = [...spokenClause.matchAll(WORD)];
  let matched = 0;
  let end = 0;
  for (const word of sentence.matchAll(WORD)) {
    if (matched === clauseWords.length) break;
    if (word[0].toLowerCase() !== clauseWords[matched]![0].toLowerCase()) return sentence;
    matched += 1;
    end = word.index + word[0].length;
  }
  if (matched < clauseWords.length) return sentence;
  // The punctuation after the clause's last word (",", " —") was spoken with it.
  const lastWord = clauseWords.at(-1);
  const closing = lastWord === undefined ? '' : spokenClause.slice(lastWord.index + lastWord[0].length).trim();
  const rest = sentence.slice(end).trimStart();
  return (rest.startsWith(closing) ? rest.slice(closing.length) : rest).trim();
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
