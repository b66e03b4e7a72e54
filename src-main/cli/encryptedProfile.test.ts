import { readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';
import { sha256OfFile } from '../testing/badDataDirs.js';
import { cli, cliBuilt, runNodeScript } from '../testing/cliProcess.js';

const QUESTION = 'Velvet otter 2291 asks about the harbour timetable';
const STACK_FRAME = /^\s+at /m;
const modelArgs = ['--model', TEST_LLM_MODEL, '--provider', 'embedded', '--threads', '1', '--max-tokens', '24'];

async function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  // The test process's own ASSISTANT_ENCRYPT / ASSISTANT_DB_KEY must not leak in: each case says what it sets.
  return runNodeScript(cli, args, {
    env: { ASSISTANT_DEBUG: '', OLLAMA_HOST: 'http://127.0.0.1:9', ASSISTANT_ENCRYPT: '', ASSISTANT_DB_KEY: '', ASSISTANT_DOCUMENTS: 'off', ...env },
    deadlineMs: 60_000,
  });
}

describe.skipIf(!cliBuilt)('an encrypted profile from the CLI (spawned)', () => {
  it('chat --encrypt on encrypts; history reads it with the key file; without the key: a clear error, and doctor --fix moves nothing', async () => {
    const dataDir = tempDataDir('cli-encrypted-');
    const chat = await runCli(['chat', '--json', '--encrypt', 'on', '--data-dir', dataDir, ...modelArgs, QUESTION]);
    expect(chat.code, chat.stderr).toBe(0);
    const keyFile = path.join(dataDir, 'db-key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const database = path.join(dataDir, 'assistant.sqlite3');
    expect(readFileSync(database).includes(QUESTION)).toBe(false);

    // No flag: the profile's key file opens it.
    const history = await runCli(['history', '--json', '--data-dir', dataDir]);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toContain('"title"');

    // The key file gone: one clear line, exit 1, the database untouched.
    const key = readFileSync(keyFile, 'utf8').trim();
    unlinkSync(keyFile);
    const before = sha256OfFile(database);
    const locked = await runCli(['chat', '--data-dir', dataDir, ...modelArgs, 'hello']);
    expect(locked.code).toBe(1);
    expect(locked.stderr).not.toMatch(STACK_FRAME);
    expect(locked.stderr).toMatch(/^Error \(DATABASE_KEY_INVALID\): The database .*assistant\.sqlite3 is encrypted/m);
    expect(sha256OfFile(database)).toBe(before);

    // doctor --fix says what is wrong and moves nothing: only a damaged database is moved aside.
    const doctor = await runCli(['doctor', '--json', '--fix', '--data-dir', dataDir], { ASSISTANT_LLM_MODEL: TEST_LLM_MODEL });
    const dataChecks = doctor.events.filter((line) => line.type === 'check' && line.area === 'data');
    expect(dataChecks.some((line) => line.ok === false && /is encrypted .*no key to open it/.test(String(line.summary)))).toBe(true);
    expect(readdirSync(dataDir).filter((name) => name.includes('corrupt'))).toEqual([]);
    expect(sha256OfFile(database)).toBe(before);

    // The right key in ASSISTANT_DB_KEY opens it again.
    const withKey = await runCli(['history', '--data-dir', dataDir], { ASSISTANT_DB_KEY: key });
    expect(withKey.code, withKey.stderr).toBe(0);
    expect(withKey.stdout).toContain(QUESTION.slice(0, 20));
  }, 120_000);
});
