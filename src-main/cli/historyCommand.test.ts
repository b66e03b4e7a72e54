import { describe, expect, it } from 'vitest';
import { createAgent } from '../app/createAgent.node.js';
import { TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';
import { bufferIo } from '../testing/bufferIo.js';
import { silentLogger } from '../agent/agentLogger.js';
import { runHistoryCommand } from './historyCommand.node.js';


describe('assistant history (real SQLite file written by the real agent on stories260K)', () => {
  it('shows every question right after its own answer, also when they were sent at once', async () => {
    const dataDir = tempDataDir();
    const agent = createAgent({
      config: { dataDir, maxAnswerTokens: 30, voice: { enabled: false }, llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 } },
      logger: silentLogger,
    });
    await agent.whenReady();
    const conversation = await agent.call('conversations:create', { title: 'all at once' });
    const questions = ['Once upon a time a fox', 'The fox ran home', 'Then it slept'];
    const answers = new Map<string, string>();
    const finished = new Promise<void>((resolve) => {
      agent.listen((event) => {
        if (event.type === 'done') answers.set(event.turnId, event.text);
        if (answers.size === questions.length) resolve();
      });
    });
    const turns = await Promise.all(questions.map((text) => agent.call('chat:send', { text, conversationId: conversation.id })));
    await finished;
    await agent.close();

    const text = bufferIo();
    expect(await runHistoryCommand([conversation.id, '--data-dir', dataDir], text.io)).toBe(0);
    const expected = turns.map((turn, i) => `> ${questions[i]}\n${answers.get(turn.turnId)}\n\n`).join('');
    expect(text.out.stdout).toBe(expected);

    const json = bufferIo();
    expect(await runHistoryCommand([conversation.id, '--json', '--data-dir', dataDir], json.io)).toBe(0);
    const { messages } = JSON.parse(json.out.stdout) as { messages: Array<{ role: string; turnId: string }> };
    expect(messages.map((m) => [m.role, m.turnId])).toEqual(turns.flatMap((t) => [['user', t.turnId], ['assistant', t.turnId]]));
  });

  it('an unknown conversation is a clear error, exit 1', async () => {
    const run = bufferIo();
    expect(await runHistoryCommand(['no-such-id', '--json', '--data-dir', tempDataDir()], run.io)).toBe(1);
    expect(JSON.parse(run.out.stdout)).toMatchObject({ type: 'error', code: 'NOT_FOUND' });
  });
});
