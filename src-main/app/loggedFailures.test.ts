import { afterEach, describe, expect, it, vi } from 'vitest';
import { ResponseCache } from '../agent/cache/responseCache.node.js';
import type { AgentLogger } from '../agent/agentLogger.js';
import type { OutputCheck } from '../agent/turn/answerStream.js';
import { createAgent, type Agent, type CreateAgentOptions } from './createAgent.node.js';
import { collectTurnEvents, TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';

type Line = { level: keyof AgentLogger; fields: Record<string, unknown>; message: string };

function recordingLogger(): { logger: AgentLogger; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: keyof AgentLogger) => (fields: object, message: string) => lines.push({ level, fields: fields as Record<string, unknown>, message });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

const QUESTION = 'Once upon a time there was a girl named Lily';

/** The real agent (stories260K) with its log lines recorded; asks one question and waits for its end. */
async function askWithLog(options: Omit<CreateAgentOptions, 'config' | 'logger'>) {
  const { logger, lines } = recordingLogger();
  agent = createAgent({
    ...options,
    logger,
    config: { dataDir: tempDataDir(), maxAnswerTokens: 60, voice: { enabled: false }, llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 } },
  });
  const events = collectTurnEvents(agent);
  await agent.whenReady();
  const { turnId } = await agent.call('chat:send', { text: QUESTION });
  return { turn: await events.forTurn(turnId), lines };
}

let agent: Agent | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await agent?.close();
  agent = undefined;
});

describe('errors that used to be swallowed are logged (real agent, stories260K)', () => {
  it('an output check that throws: its sentence is withheld and the failure logged, without the sentence', async () => {
    // A test check (not the guardrails) that breaks on every sentence.
    const broken: OutputCheck = {
      checkSentence: () => {
        throw new Error('check service down');
      },
    };
    const { turn, lines } = await askWithLog({ outputCheck: broken });
    expect(turn.done).toBeDefined();
    const failures = lines.filter((line) => line.message === 'output check failed; its sentence was withheld');
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures[0]).toMatchObject({ level: 'error', fields: { code: 'INTERNAL', reason: 'check service down' } });
    expect(JSON.stringify(lines.filter((line) => line.level !== 'debug'))).not.toContain('Lily');
  });

  it('an answer that cannot be written to the response cache is still answered, and the failure is logged', async () => {
    // Simulates the disk refusing the write (a full disk, a read-only file): the real cache is used otherwise.
    vi.spyOn(ResponseCache.prototype, 'set').mockImplementation(() => {
      throw new Error('SQLITE_FULL: database or disk is full');
    });
    const { turn, lines } = await askWithLog({});
    expect(turn.error).toBeUndefined();
    expect(turn.done?.text.length).toBeGreaterThan(0);
    expect(lines).toContainEqual({
      level: 'error',
      message: 'could not write the answer to the response cache',
      fields: { turnId: turn.done!.turnId, code: 'INTERNAL', reason: 'SQLITE_FULL: database or disk is full' },
    });
  });
});
