import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MESSAGE_OVERHEAD_TOKENS, selectHistoryWithinBudget } from './historyBudget.js';
import type { LlmChatMessage } from '../llm/llmProvider.js';

const countWords = (text: string) => text.split(/\s+/).filter(Boolean).length;
const message = fc.record({ role: fc.constantFrom<'user' | 'assistant'>('user', 'assistant'), text: fc.lorem({ maxCount: 30 }) });
const cost = (m: LlmChatMessage) => countWords(m.text) + MESSAGE_OVERHEAD_TOKENS;

describe('history token budget', () => {
  it('keeps the most recent messages that fit, never more than the budget, never starting with an answer', () => {
    fc.assert(
      fc.property(fc.array(message, { maxLength: 40 }), fc.integer({ min: 0, max: 400 }), (messages, budget) => {
        const kept = selectHistoryWithinBudget(messages, budget, countWords);
        expect(kept.reduce((sum, m) => sum + cost(m), 0)).toBeLessThanOrEqual(budget);
        expect(kept).toEqual(messages.slice(messages.length - kept.length)); // a suffix: the newest
        if (kept.length > 0) expect(kept[0]!.role).toBe('user');
        // Maximal: one more (older) user-started suffix would not fit.
        const nextStart = messages.length - kept.length - 1;
        if (nextStart >= 0 && kept.length < messages.length) {
          const longer = messages.slice(nextStart);
          const longerCost = longer.reduce((sum, m) => sum + cost(m), 0);
          if (messages[nextStart]!.role === 'user') expect(longerCost).toBeGreaterThan(budget);
        }
      }),
    );
  });

  it('keeps everything when it all fits', () => {
    const messages: LlmChatMessage[] = [
      { role: 'user', text: 'hi there' },
      { role: 'assistant', text: 'hello' },
    ];
    expect(selectHistoryWithinBudget(messages, 1000, countWords)).toEqual(messages);
  });
});
