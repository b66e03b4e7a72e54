import { MAX_LLM_THREADS } from '../agent/agentSettings.node.js';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDataDir } from '../testing/agentTestSupport.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'bin/assistant.js');
const built = existsSync(path.join(root, 'build/src-main/cli/assistantCli.node.js'));
if (!built) console.warn('Skipping the CLI settings tests: the CLI is not built (run "npm run build"; "npm test" does it first).');

function runCli(args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, [cli, ...args], {
    env: { ...process.env, ASSISTANT_DATA_DIR: tempDataDir('cli-settings-'), ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe.skipIf(!built)('a bad setting on the command line (spawned CLI)', () => {
  it('names the env var and what is allowed, exits 2, prints no stack trace', () => {
    const run = runCli(['chat', 'hello'], { ASSISTANT_LLM_THREADS: 'lots' });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`ASSISTANT_LLM_THREADS must be a whole number from 1 to ${MAX_LLM_THREADS}; got "lots".\n`);
    expect(run.stdout).toBe('');
  });

  it('does the same for a flag, and for commands that leave the error to the CLI (bench)', () => {
    const chat = runCli(['chat', '--provider', 'cloud', 'hello']);
    expect(chat.code).toBe(2);
    expect(chat.stderr).toBe('--provider must be one of auto, embedded, ollama, openai; got "cloud".\n');

    const bench = runCli(['bench', '--max-tokens', '99999999999999999999']);
    expect(bench.code).toBe(2);
    expect(bench.stderr).toBe('Error (INVALID_SETTING): --max-tokens must be a whole number from 1 to 131072; got "99999999999999999999".\n');
    expect(bench.stderr).not.toMatch(/\n\s+at /);
  });
});
