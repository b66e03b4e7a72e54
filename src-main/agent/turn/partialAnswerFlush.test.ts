import { describe, expect, it } from 'vitest';
import { createAgent } from '../../app/createAgent.node.js';
import { openSqliteDatabase } from '../memory/sqliteDatabase.node.js';
import { ConversationStore } from '../memory/conversationStore.node.js';
import { tempDataDir } from '../../testing/agentTestSupport.js';
import type { LlmGenerateRequest, LlmGenerateResult, LlmProvider } from '../llm/llmProvider.js';

/**
 * A scripted provider (test double, not an LLM): three quick tokens, then it stalls until cancelled. It isolates
 * what this test is about: the turn runner's partial-answer writes, which a stalled real model would also need.
 */
class StallingScriptedProvider implements LlmProvider {
  readonly kind = 'embedded' as const;
  readonly modelId = 'scripted-stall';
  readonly contextTokens = 4096;
  async load(): Promise<void> {}
  countTokens(text: string): number {
    return Math.ceil(text.length / 4);
  }
  async generate(request: LlmGenerateRequest): Promise<LlmGenerateResult> {
    for (const token of ['Once', ' upon', ' a']) request.onToken(token);
    await new Promise<void>((resolve) => request.signal.addEventListener('abort', () => resolve(), { once: true }));
    return { text: 'Once upon a', tokens: 3, aborted: true };
  }
  async dispose(): Promise<void> {}
}

describe('partial answers reach the disk even when tokens stall (crash safety)', () => {
  it('the text streamed so far is in SQLite within the flush interval, while the turn is still running', async () => {
    const dataDir = tempDataDir();
    const provider = new StallingScriptedProvider();
    const agent = createAgent({
      config: { dataDir, voice: { enabled: false }, llm: { provider: 'embedded' }, partialAnswerFlushMs: 200 },
      llmFactories: { createEmbedded: () => provider, createOllama: () => provider, probeOllama: async () => ({ reachable: false, hasModel: false }) },
    });
    await agent.whenReady();
    const started = await agent.call('chat:send', { text: 'Tell me a story' });
    await new Promise((resolve) => setTimeout(resolve, 450));
    // Read through a second connection, as a restarted process would.
    const reader = new ConversationStore(openSqliteDatabase(dataDir));
    const answer = reader.listMessages(started.conversationId).find((m) => m.role === 'assistant');
    expect(answer).toMatchObject({ status: 'streaming', text: 'Once upon a' });
    await agent.call('chat:cancel', { turnId: started.turnId });
    await agent.close();
  });
});
