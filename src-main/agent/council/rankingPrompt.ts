import { deriveSeed, seededRandom, seededShuffle } from './seededShuffle.js';

/** One stage-1 answer: whose it is, and its text. */
export interface CouncilAnswer {
  memberId: string;
  text: string;
}

export interface RankingPrompt {
  systemPrompt: string;
  /** The user message: the question, the anonymised answers and the format to answer in. */
  question: string;
  /** "A" → member id, in the order the reviewer sees them. */
  labels: ReadonlyMap<string, string>;
}

/** The most answers one reviewer can be shown: one letter each. */
export const MAX_RANKED_ANSWERS = 26;

export const RANKING_SYSTEM_PROMPT =
  'You judge answers to a question. Compare them for accuracy, completeness and clarity, and rank them from best to worst.';

/**
 * The stage-2 prompt for `reviewerId`: the question and every OTHER member's answer, anonymised as "Response A",
 * "Response B"… in an order shuffled for this reviewer alone (seeded by `seed` and the reviewer's id), so no answer
 * gains from always being read first, and reviewers do not share one order.
 */
export function buildRankingPrompt(input: {
  question: string;
  reviewerId: string;
  answers: readonly CouncilAnswer[];
  seed: number;
}): RankingPrompt {
  const others = input.answers.filter((answer) => answer.memberId !== input.reviewerId);
  if (others.length > MAX_RANKED_ANSWERS) throw new RangeError(`A reviewer can rank at most ${MAX_RANKED_ANSWERS} answers, not ${others.length}.`);
  const shuffled = seededShuffle(others, seededRandom(deriveSeed(input.seed, input.reviewerId)));
  const labels = new Map<string, string>();
  const sections: string[] = [];
  shuffled.forEach((answer, index) => {
    const label = String.fromCharCode(65 + index);
    labels.set(label, answer.memberId);
    sections.push(`Response ${label}:\n${quotedAnswer(answer.text)}`);
  });
  const letters = [...labels.keys()];
  const question = [
    `Question: ${input.question.trim()}`,
    '',
    ...sections.flatMap((section) => [section, '']),
    `Say briefly what is good and bad in each response. Then end with your ranking, best first, in exactly this format, using each of the letters ${letters.join(', ')} once:`,
    'FINAL RANKING:',
    ...letters.map((_, index) => `${index + 1}. Response <letter>`),
  ].join('\n');
  return { systemPrompt: RANKING_SYSTEM_PROMPT, question, labels };
}

/**
 * A member's answer as it is shown to another model: every line quoted ("> "), so nothing in it (a forged "Response B:"
 * heading or "FINAL RANKING" block) reads as the prompt's own structure; the parser skips quoted lines.
 */
export function quotedAnswer(text: string): string {
  return text
    .trim()
    .split(/\r?\n/)
    .map((line) => `> ${line}`)
    .join('\n');
}
