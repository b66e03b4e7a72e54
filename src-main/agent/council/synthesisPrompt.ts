import { quotedAnswer, type CouncilAnswer } from './rankingPrompt.js';

export const SYNTHESIS_SYSTEM_PROMPT =
  'You are the chairman of a council of assistants. Several of them answered the same question and ranked each other. ' +
  'Write the single best final answer for the user from their best answers: keep what is correct, drop what is wrong, ' +
  'and do not mention the council, the rankings or the other answers.';

/** The chairman's user message: the question and the top answers, best first (they are not anonymised: no vote here). */
export function buildSynthesisPrompt(question: string, topAnswers: readonly CouncilAnswer[]): { systemPrompt: string; question: string } {
  const sections = topAnswers.map((answer, index) => `Answer ${index + 1}${index === 0 ? ' (ranked best)' : ''}:\n${quotedAnswer(answer.text)}`);
  return {
    systemPrompt: SYNTHESIS_SYSTEM_PROMPT,
    question: [`Question: ${question.trim()}`, '', ...sections.flatMap((section) => [section, '']), 'Final answer:'].join('\n'),
  };
}
