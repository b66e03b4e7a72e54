import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../src-shared/contract/index.js';
import { collectTurnEvents, TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';
import { sha256OfFile, writeDamagedBodyDatabase } from '../testing/badDataDirs.js';
import { createRecoverableAgent, type RecoverableAgent } from './recoverableAgent.node.js';

const agents: RecoverableAgent[] = [];
function recoverable(dataDir: string): RecoverableAgent {
  const agent = createRecoverableAgent({
    config: { dataDir, voice: { enabled: false }, llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 }, maxAnswerTokens: 20 },
  });
  agents.push(agent);
  return agent;
}

afterEach(async () => {
  for (const agent of agents.splice(0)) await agent.close();
});

describe('the agent of a host with a UI, when its data cannot be opened', () => {
  it('a damaged database: recovery mode, then "move it aside" keeps the file and starts the real agent', async () => {
    const dataDir = tempDataDir();
    const file = writeDamagedBodyDatabase(dataDir);
    const before = sha256OfFile(file);
    const agent = recoverable(dataDir);

    expect(agent.problem?.code).toBe('DATABASE_CORRUPT');
    const status = await agent.call('data:status');
    expect(status).toMatchObject({ state: 'corrupt', databasePath: file, problem: { code: 'DATABASE_CORRUPT' } });
    expect(status.problem?.message).toContain(file);
    expect((await agent.call('agent:status')).llm.state).toBe('error');
    expect(await agent.call('conversations:list')).toEqual([]);
    await expect(agent.call('chat:send', { text: 'Once upon a time' })).rejects.toMatchObject({ code: 'DATABASE_CORRUPT' });
    expect(sha256OfFile(file)).toBe(before);

    const events: AgentEvent[] = [];
    agent.listen((event) => events.push(event));
    const { movedTo } = await agent.call('data:reset-database');

    expect(path.dirname(movedTo)).toBe(dataDir);
    expect(path.basename(movedTo)).toMatch(/^assistant\.sqlite3\.corrupt-\d{4}-\d\d-\d\dT[\d-]+Z$/);
    expect(sha256OfFile(movedTo)).toBe(before);
    expect(agent.problem).toBeUndefined();
    expect(await agent.call('data:status')).toMatchObject({ state: 'ok', movedAsideTo: movedTo });
    expect(events.map((event) => event.type)).toEqual(expect.arrayContaining(['status', 'conversations-changed']));

    await agent.whenReady();
    const turns = collectTurnEvents(agent);
    const started = await agent.call('chat:send', { text: 'Once upon a time' });
    const turn = await turns.forTurn(started.turnId);
    expect(turn.done?.text.length).toBeGreaterThan(0);
    expect(await agent.call('conversations:list')).toHaveLength(1);
    await expect(agent.call('data:reset-database')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(existsSync(movedTo)).toBe(true);

    // The move is a security event in the new database's log.
    await agent.close();
    const logDir = path.join(dataDir, 'logs');
    const entries = readdirSync(logDir).flatMap((name) => readFileSync(path.join(logDir, name), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as object));
    expect(entries).toContainEqual(expect.objectContaining({ audit: 'database-moved-aside', from: file, to: movedTo, by: 'data:reset-database' }));
  });

  it('an unusable data folder: recovery mode without a reset', async () => {
    const file = path.join(tempDataDir(), 'a-file');
    writeFileSync(file, 'x');
    const agent = recoverable(path.join(file, 'data'));
    expect(agent.problem?.code).toBe('DATA_DIR_UNUSABLE');
    expect(await agent.call('data:status')).toMatchObject({ state: 'unusable', problem: { message: expect.stringContaining(file) } });
    await expect(agent.call('data:reset-database')).rejects.toMatchObject({ code: 'DATA_DIR_UNUSABLE' });
    expect(existsSync(file)).toBe(true);
  });

  it('a healthy database: data:status is ok and a reset is refused', async () => {
    const dataDir = tempDataDir();
    const agent = recoverable(dataDir);
    expect(agent.problem).toBeUndefined();
    expect(await agent.call('data:status')).toEqual({ state: 'ok', dataDir, databasePath: path.join(dataDir, 'assistant.sqlite3') });
    await expect(agent.call('data:reset-database')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(existsSync(path.join(dataDir, 'assistant.sqlite3'))).toBe(true);
  });
});
