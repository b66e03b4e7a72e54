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

/** A complete question ends after half the base silence, but never sooner than this. */
export const SHORTEST_END_SILENCE_MS = 250;
/** After a hanging word the wait doubles, up to this (unless the base itself is longer). */
export const LONGEST_END_SILENCE_MS = 1500;
/** Fewer words than this are too little to be sure a question is complete ("what time", "tell me"). */
const MIN_COMPLETE_WORDS = 3;

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
]);

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
    return { ms: Math.min(baseMs, Math.max(SHORTEST_END_SILENCE_MS, Math.round(baseMs / 2))), reason: 'complete-question' };
  }
  return { ms: baseMs, reason: 'base' };
}

function endsHanging(text: string, words: string[]): boolean {
  // A trailing comma, dash or ellipsis: the recogniser heard the voice trail off mid-sentence.
  if (/(?:,|;|:|-|–|—|…|\.\.)$/.test(text)) return true;
  const last = words.at(-1) ?? '';
  if (HANGING_WORDS.has(last)) return true;
  const beforeLast = words.at(-2);
  return beforeLast !== undefined && OBJECT_FIRST_VERBS.has(beforeLast) && RECIPIENTS.has(last);
}

function readsAsCompleteQuestion(text: string, words: string[]): boolean {
  let start = 0;
  while (start < words.length - 1 && LEAD_INS.has(words[start]!)) start++;
  const content = words.slice(start);
  if (content.length < MIN_COMPLETE_WORDS) return false;
  if (AUXILIARIES.has(content.at(-1)!)) return false;
  return QUESTION_STARTS.has(content[0]!) || text.endsWith('?');
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
