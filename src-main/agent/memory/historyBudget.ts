import type { LlmChatMessage } from '../llm/llmProvider.js';

/**
 * The most recent messages whose tokens fit in `budgetTokens`, oldest first. Cuts only whole messages and never
 * starts the kept history with an assistant reply (it would answer a question the model cannot see).
 */
export function selectHistoryWithinBudget(
  messages: readonly LlmChatMessage[],
  budgetTokens: number,
  countTokens: (text: string) => number,
): LlmChatMessage[] {
  let used = 0;
  let start = messages.length;
  for (let index = messages.length - 1; index >= 0; index--) {
    const cost = countTokens(messages[index]!.text) + MESSAGE_OVERHEAD_TOKENS;
    if (used + cost > budgetTokens) break;
    used += cost;
    start = index;
  }
  while (start < messages.length && messages[start]!.role === 'assistant') start++;
  return messages.slice(start);
}

/** Role markers and separators the chat template adds around each message. */
export const MESSAGE_OVERHEAD_TOKENS = 8;
