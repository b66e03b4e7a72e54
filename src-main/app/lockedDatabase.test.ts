import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';
import { sha256OfFile } from '../testing/badDataDirs.js';
import { createRecoverableAgent, type RecoverableAgent } from './recoverableAgent.node.js';

const agents: RecoverableAgent[] = [];
function recoverable(dataDir: string, encrypt: boolean): RecoverableAgent {
  const agent = createRecoverableAgent({
    config: { dataDir, encryptDatabase: encrypt, voice: { enabled: false }, llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 } },
  });
  agents.push(agent);
  return agent;
}

afterEach(async () => {
  for (const agent of agents.splice(0)) await agent.close();
  delete process.env.ASSISTANT_DB_KEY;
});

describe('an encrypted database whose key is wrong, in a host with a UI (app, headless host)', () => {
  it('starts in recovery mode as "locked": the problem is shown, nothing is offered to be moved, the file is untouched', async () => {
    const dataDir = tempDataDir('locked-db-');
    const first = recoverable(dataDir, true);
    expect(first.problem).toBeUndefined();
    await first.call('conversations:create', { title: 'kept' });
    await first.close();
    const file = path.join(dataDir, 'assistant.sqlite3');
    const before = sha256OfFile(file);
    const listing = readdirSync(dataDir).sort();

    // Another key than the profile's (ASSISTANT_DB_KEY wins over the key file).
    process.env.ASSISTANT_DB_KEY = randomBytes(32).toString('hex');
    const agent = recoverable(dataDir, true);
    expect(agent.problem?.code).toBe('DATABASE_KEY_INVALID');
    const status = await agent.call('data:status');
    expect(status).toMatchObject({ state: 'locked', databasePath: file, problem: { code: 'DATABASE_KEY_INVALID' } });
    expect(status.problem?.message).toMatch(/is encrypted and the key from ASSISTANT_DB_KEY does not open it/);
    await expect(agent.call('data:reset-database')).rejects.toMatchObject({ code: 'DATABASE_KEY_INVALID' });
    await expect(agent.call('chat:send', { text: 'hello' })).rejects.toMatchObject({ code: 'DATABASE_KEY_INVALID' });
    expect(sha256OfFile(file)).toBe(before);
    expect(readdirSync(dataDir).sort()).toEqual(listing);
  });
});
