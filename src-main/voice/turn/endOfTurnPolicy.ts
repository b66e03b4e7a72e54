import type { EndSilenceReason } from '../../../src-shared/contract/index.js';

/** The end-of-speech silence to use now, and why. */
export interface EndSilence {
  ms: number;
  reason: EndSilenceReason;
}

export interface EndOfTurnInput {
  /** The partial transcript of the utterance so far ('' when there is none yet). */
  text: string;
  /** The configured end-of-speech silence (`settings.endSilenceMs`). */
  baseMs: number;
  /** `settings.adaptiveEndSilence`; when false the base is always used. */
  adaptive: boolean;
  /**
   * True when `text` was transcribed from all the speech heard so far (the audio was taken during the pause, after
   * the last speech). A partial taken mid-speech may stop before words the user has since said ("what is the
   * capital" of "what is the capital of …"), so it may make the wait longer but never shorter.
   */
  textCoversAllSpeech: boolean;
}

/**
 * A complete question ends after this share of the base silence, but never sooner than SHORTEST_END_SILENCE_MS (nor
 * later than the base): 500 ms becomes 350. Only a little shorter, as a pause mid-question ("what is the population …
 * of France") is often longer than half the base.
 */
export const COMPLETE_QUESTION_SHARE = 0.7;
export const SHORTEST_END_SILENCE_MS = 350;
/** After a hanging word the wait doubles, up to this (unless the base itself is longer). */
export const LONGEST_END_SILENCE_MS = 1500;
/** Fewer words than this are too little to be sure a question is complete ("what time", "tell me", "what's the weather"). */
const MIN_COMPLETE_WORDS = 4;

/** Words that leave a sentence unfinished: conjunctions, articles, prepositions, possessives, fillers. */
const HANGING_WORDS = new Set([
  // conjunctions
  'and', 'or', 'but', 'nor', 'so', 'yet', 'because', 'cause', 'if', 'than', 'while', 'whereas', 'although',
  'though', 'unless', 'until', 'till', 'since', 'whether', 'as', 'plus', 'versus', 'vs',
  // articles and determiners that need a noun
  'the', 'a', 'an', 'some', 'any', 'every', 'each', 'another', 'either', 'neither', 'both', 'several', 'such',
  // prepositions
  'of', 'to', 'for', 'with', 'in', 'on', 'at', 'from', 'by', 'about', 'into', 'onto', 'between', 'among', 'after',
  'before', 'without', 'within', 'under', 'over', 'through', 'during', 'per', 'via', 'near', 'across', 'against',
  'toward', 'towards', 'upon', 'around', 'behind', 'beyond', 'despite', 'except', 'including',
  // possessives
  'my', 'your', 'our', 'their', 'its',
  // subjects with no verb yet
  'i', "i'm", "i'd", "i've", "i'll", "we're", "you're", "they're", "we'd", "they'd",
  // fillers
  'um', 'umm', 'uh', 'uhh', 'uhm', 'er', 'erm', 'ah', 'eh', 'hmm', 'hm', 'mm', 'mhm',
  // arithmetic that needs its second operand ("plus" and "over" are above)
  'minus', 'divided', 'multiplied', 'modulo', 'equals',
  // verbs that need what they act on ("how do you spell")
  'spell', 'pronounce',
]);

/** Arithmetic words that hang only after a number: "five times" (three), not "the opening times". */
const OPERATORS_AFTER_A_NUMBER = new Set(['times', 'x']);
/** An operator symbol at the very end ("what is 2 +"): the words alone lose it. */
const TRAILING_OPERATOR = /[+*/=×÷^<>]$/u;

/** "Tell me", "show us": a request that names who it is for has not yet said what it wants. */
const OBJECT_FIRST_VERBS = new Set(['tell', 'show', 'give', 'remind', 'let', 'teach', 'send', 'ask', 'get', 'bring', 'find', 'buy', 'play']);
const RECIPIENTS = new Set(['me', 'us', 'him', 'them']);

/** Words a question or request starts with. */
const QUESTION_STARTS = new Set([
  // wh-words
  'what', "what's", 'whats', 'when', "when's", 'where', "where's", 'who', "who's", 'whom', 'whose', 'which', 'why',
  "why's", 'how', "how's",
  // auxiliaries (yes/no questions)
  'is', "isn't", 'are', "aren't", 'am', 'was', "wasn't", 'were', "weren't", 'do', "don't", 'does', "doesn't", 'did',
  "didn't", 'can', "can't", 'could', "couldn't", 'will', "won't", 'would', "wouldn't", 'should', "shouldn't", 'shall',
  'may', 'might', 'must', 'have', "haven't", 'has', "hasn't", 'had',
  // imperative verbs (requests)
  'tell', 'show', 'give', 'set', 'turn', 'play', 'pause', 'stop', 'start', 'open', 'close', 'find', 'search', 'look',
  'remind', 'explain', 'describe', 'list', 'name', 'call', 'send', 'read', 'write', 'add', 'remove', 'delete', 'make',
  'create', 'summarize', 'summarise', 'translate', 'define', 'help', 'check', 'calculate', 'compute', 'convert',
  'count', 'spell', 'compare', 'recommend', 'suggest', 'schedule', 'cancel', 'repeat', 'say', "let's", 'let',
]);

/** Words said before a question that do not change whether it is one ("so, what is …", "okay please tell me …"). */
const LEAD_INS = new Set([
  'please', 'so', 'ok', 'okay', 'hey', 'hi', 'hello', 'well', 'and', 'now', 'also', 'oh', 'alright', 'right', 'actually',
  'just', 'then', 'but', 'um', 'umm', 'uh', 'uhh', 'uhm', 'er', 'erm', 'ah', 'hmm', 'assistant', 'computer',
]);

/**
 * Nouns that usually take a complement ("the capital" of …, "the square root" of …): a question that ends on one may
 * well go on, so it gets the base.
 */
const NOUNS_TAKING_A_COMPLEMENT = new Set([
  'capital', 'population', 'president', 'prime', 'minister', 'mayor', 'king', 'queen', 'ceo', 'leader', 'founder',
  'author', 'director', 'owner', 'inventor', 'name', 'meaning', 'definition', 'distance', 'price', 'cost', 'value',
  'difference', 'root', 'square', 'cube', 'power', 'sum', 'product', 'average', 'half', 'percentage', 'result',
  'height', 'length', 'width', 'weight', 'size', 'area', 'volume', 'speed', 'age', 'number', 'history', 'origin',
  'opposite', 'plural', 'synonym', 'translation', 'spelling', 'currency', 'language', 'rest', 'end', 'top', 'bottom',
  'middle',
]);
/** Words that start a place name of several words ("in new" York, "in san" Francisco). */
const PLACE_NAME_STARTS = new Set([
  'new', 'san', 'santa', 'los', 'las', 'saint', 'st', 'fort', 'port', 'mount', 'lake', 'cape', 'hong', 'buenos', 'rio',
  'sao', 'tel', 'abu', 'kuala', 'salt', 'north', 'south', 'east', 'west', 'upper', 'lower', 'great', 'little',
]);
/** Before a number, these usually call for a unit after it ("for five" minutes, "at seven" thirty, "in ten" days). */
const PREPOSITIONS_BEFORE_AN_AMOUNT = new Set([
  'for', 'in', 'at', 'after', 'within', 'every', 'until', 'till', 'to', 'from', 'about', 'around', 'under', 'than',
  'before', 'during', 'per', 'each', 'next', 'last', 'another',
]);
const NUMBER_WORDS = new Set([
  'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen',
  'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen', 'twenty', 'thirty', 'forty', 'fifty', 'sixty',
  'seventy', 'eighty', 'ninety', 'hundred', 'thousand', 'million', 'billion',
]);
/** Said between the words of one number: "a hundred and five". */
const NUMBER_JOINERS = new Set(['a', 'and']);
const WH_WORDS = new Set(['what', 'who', 'which', 'where', 'when', 'how', 'why']);
const COPULAS = new Set(['is', 'are', 'was', 'were']);
/**
 * Common German, French, Spanish and Italian words that are not English words: with any of them (or a letter outside
 * ASCII) the text may not be English, and nothing here can tell whether it is a complete question.
 */
const NON_ENGLISH_WORDS = new Set([
  // German
  'ist', 'sind', 'der', 'die', 'das', 'dem', 'des', 'von', 'und', 'ein', 'eine', 'einen', 'nicht', 'wie', 'wo', 'wer',
  'wann', 'warum', 'welche', 'welcher', 'ich', 'du', 'wir', 'ihr', 'mit', 'auf', 'zu', 'bitte', 'heute', 'morgen',
  'gibt', 'kannst', 'mir', 'mich', 'uns', 'noch', 'auch', 'oder', 'aber', 'sie', 'wetter',
  // French
  'est', 'le', 'la', 'les', 'du', 'un', 'une', 'et', 'que', 'qui', 'quel', 'quelle', 'quels', 'quelles', "c'est",
  "qu'est", 'je', 'tu', 'vous', 'nous', 'dans', 'avec', 'sur', 'pas', 'ne', 'moi', 'combien', 'pourquoi', 'il', 'elle',
  'ce', 'cette', 'mes', 'au', 'aux',
  // Spanish and Italian
  'es', 'el', 'los', 'las', 'del', 'una', 'uno', 'por', 'para', 'como', 'cual', 'donde', 'cuando', 'cuanto', 'hoy',
  'tiempo', 'puedes', 'di', 'che', 'della', 'sono', 'gli', 'quanto', 'perche', 'oggi',
]);

/** Verbs that end a sentence only when more follows: "what time is" (it), "do you know where it is" ends at base. */
const AUXILIARIES = new Set(['is', 'are', 'am', 'was', 'were', 'do', 'does', 'did', 'can', 'could', 'will', 'would', 'should', 'shall', 'may', 'might', 'must', 'have', 'has', 'had', 'be', 'been']);

/**
 * How long a silence ends the turn, given what the user has said so far. Shorter when the words read as a complete
 * question or request (the user is waiting for an answer), longer after a word that leaves the sentence hanging
 * (the user is thinking of the next word), the base otherwise. Cutting someone off is worse than answering a little
 * later, so anything unclear gets the base and only a clear, current, complete question gets less. English only:
 * other languages get the base.
 */
export function endSilenceFor({ text, baseMs, adaptive, textCoversAllSpeech }: EndOfTurnInput): EndSilence {
  if (!adaptive) return { ms: baseMs, reason: 'fixed' };
  const cleaned = withoutAnnotations(text).trim();
  const words = wordsOf(lastSentence(cleaned));
  const lastWord = words.at(-1);
  if (lastWord === undefined) return { ms: baseMs, reason: 'base' };

  if (endsHanging(cleaned, words)) {
    return { ms: Math.max(baseMs, Math.min(LONGEST_END_SILENCE_MS, baseMs * 2)), reason: 'hanging-word' };
  }
  if (textCoversAllSpeech && readsAsCompleteQuestion(cleaned, words)) {
    return { ms: Math.min(baseMs, Math.max(SHORTEST_END_SILENCE_MS, Math.round(baseMs * COMPLETE_QUESTION_SHARE))), reason: 'complete-question' };
  }
  return { ms: baseMs, reason: 'base' };
}

function endsHanging(text: string, words: string[]): boolean {
  // A trailing comma, dash or ellipsis: the recogniser heard the voice trail off mid-sentence.
  if (/(?:,|;|:|-|–|—|…|\.\.)$/.test(text)) return true;
  // An operator symbol: "what is 2 +".
  if (TRAILING_OPERATOR.test(text)) return true;
  const last = words.at(-1) ?? '';
  if (HANGING_WORDS.has(last)) return true;
  const beforeLast = words.at(-2);
  if (beforeLast !== undefined && OPERATORS_AFTER_A_NUMBER.has(last) && isNumber(beforeLast)) return true;
  return beforeLast !== undefined && OBJECT_FIRST_VERBS.has(beforeLast) && RECIPIENTS.has(last);
}

/**
 * A clear, complete question or request, in English: at least MIN_COMPLETE_WORDS words after any lead-in, starting
 * like a question (or ending with "?"), and not ending where questions often go on: an auxiliary ("what time is"), a
 * noun that takes a complement ("what is the capital"), the start of a place name ("in new"), an amount with no unit
 * ("for five"), "between" with no "and" after it.
 */
function readsAsCompleteQuestion(text: string, words: string[]): boolean {
  if (!looksEnglish(words)) return false;
  let start = 0;
  while (start < words.length - 1 && LEAD_INS.has(words[start]!)) start++;
  const content = words.slice(start);
  if (content.length < MIN_COMPLETE_WORDS) return false;
  const last = content.at(-1)!;
  if (AUXILIARIES.has(last) || NOUNS_TAKING_A_COMPLEMENT.has(last) || PLACE_NAME_STARTS.has(last)) return false;
  if (endsWithAnAmountAlone(content)) return false;
  // "what is the weather", "who is the winner": often followed by "of …", "in …".
  if (content.length === 4 && WH_WORDS.has(content[0]!) && COPULAS.has(content[1]!) && content[2] === 'the') return false;
  const between = content.lastIndexOf('between');
  if (between !== -1 && !content.slice(between + 1).includes('and')) return false;
  return QUESTION_STARTS.has(content[0]!) || text.endsWith('?');
}

/** Ends with a number right after a preposition that calls for a unit: "set a timer for five", "in twenty five". */
function endsWithAnAmountAlone(words: string[]): boolean {
  let index = words.length - 1;
  if (!isNumber(words[index]!)) return false;
  while (index > 0 && (isNumber(words[index - 1]!) || NUMBER_JOINERS.has(words[index - 1]!))) index--;
  return index > 0 && PREPOSITIONS_BEFORE_AN_AMOUNT.has(words[index - 1]!);
}

function isNumber(word: string): boolean {
  return /^\d+(?:[.,]\d+)*(?:st|nd|rd|th)?$/.test(word) || NUMBER_WORDS.has(word);
}

/** No letter outside ASCII and none of the common non-English words: English as far as can be told. */
function looksEnglish(words: string[]): boolean {
  return words.every((word) => /^[a-z0-9']+$/.test(word) && !NON_ENGLISH_WORDS.has(word));
}

/** Drops what recognisers add that is not speech: "[BLANK_AUDIO]", "(coughs)", "*music*". */
function withoutAnnotations(text: string): string {
  return text.replace(/\[[^\]]*\]|\([^)]*\)|\*[^*]*\*/g, ' ');
}

/** The last sentence, with its own end punctuation: a question asked after a remark counts by itself. */
function lastSentence(text: string): string {
  const sentences = text.split(/(?<=[.!?])\s+/).filter((sentence) => /[\p{L}\p{N}]/u.test(sentence));
  return sentences.at(-1) ?? '';
}

function wordsOf(sentence: string): string[] {
  const words = sentence.toLowerCase().replace(/[\u2018\u2019]/g, "'").match(/[\p{L}\p{N}']+/gu) ?? [];
  // Quotes around a word are not part of it ('cause is "cause").
  return words.map((word) => word.replace(/^'+|'+$/g, '')).filter((word) => word !== '');
}
