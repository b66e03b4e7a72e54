import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';
import { cli, runNodeScript } from '../testing/cliProcess.js';
import { sha256OfFile, writeDamagedBodyDatabase, writeRandomBytesDatabase } from '../testing/badDataDirs.js';
import { reportUnexpectedError } from './assistantCli.node.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const built = existsSync(path.join(root, 'build/src-main/cli/assistantCli.node.js'));
const JFK_WAV = path.resolve(root, '../shared/audio/jfk.wav');
/** A hang (the old recursive mkdir on /proc spun forever) fails the test instead of hanging it. */
const DEADLINE_MS = 20_000;
const STACK_FRAME = /^\s+at /m;

/** Runs the real CLI with a deadline; `until` can end it early (SIGTERM) once stdout shows what the test waits for. */
async function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; until?: (stdout: string) => boolean } = {}) {
  const run = await runNodeScript(cli, args, {
    env: { ASSISTANT_DEBUG: '', OLLAMA_HOST: 'http://127.0.0.1:9', ...options.env },
    deadlineMs: DEADLINE_MS,
    ...(options.until && { until: options.until }),
  });
  return { ...run, lines: run.events };
}

function expectNoStackTrace(run: { stdout: string; stderr: string }): void {
  expect(run.stdout).not.toMatch(STACK_FRAME);
  expect(run.stderr).not.toMatch(STACK_FRAME);
}

interface BadDataDir {
  name: string;
  code: 'DATA_DIR_UNUSABLE' | 'DATABASE_CORRUPT';
  /** Makes the case; returns the data dir and the path the message must name. */
  make(): { dataDir: string; named: string; databaseFile?: string };
}

const cases: BadDataDir[] = [
  { name: 'a folder under /proc', code: 'DATA_DIR_UNUSABLE', make: () => ({ dataDir: '/proc/x/data', named: '/proc/x/data' }) },
  { name: 'a folder under /sys', code: 'DATA_DIR_UNUSABLE', make: () => ({ dataDir: '/sys/foo', named: '/sys/foo' }) },
  {
    name: 'a folder whose parent is a file',
    code: 'DATA_DIR_UNUSABLE',
    make: () => {
      const file = path.join(tempDataDir(), 'file');
      writeFileSync(file, 'x');
      return { dataDir: path.join(file, 'data'), named: file };
    },
  },
  {
    name: 'a data dir that is a file',
    code: 'DATA_DIR_UNUSABLE',
    make: () => {
      const file = path.join(tempDataDir(), 'data');
      writeFileSync(file, 'x');
      return { dataDir: file, named: file };
    },
  },
  {
    name: 'a database of random bytes',
    code: 'DATABASE_CORRUPT',
    make: () => {
      const dataDir = tempDataDir();
      const databaseFile = writeRandomBytesDatabase(dataDir);
      return { dataDir, named: databaseFile, databaseFile };
    },
  },
  {
    name: 'a SQLite header followed by a random body',
    code: 'DATABASE_CORRUPT',
    make: () => {
      const dataDir = tempDataDir();
      const databaseFile = writeDamagedBodyDatabase(dataDir);
      return { dataDir, named: databaseFile, databaseFile };
    },
  },
];

const modelArgs = ['--model', TEST_LLM_MODEL, '--provider', 'embedded', '--threads', '1'];

describe.skipIf(!built)('a bad data dir: one clear error, exit 1, no stack trace (spawned CLI)', () => {
  describe.each(cases)('$name', (badCase) => {
    it.each([
      ['chat', (dataDir: string) => ['chat', '--json', '--data-dir', dataDir, ...modelArgs, 'hi']],
      ['voice', (dataDir: string) => ['voice', JFK_WAV, '--json', '--data-dir', dataDir, ...modelArgs]],
    ])('%s prints one JSON error naming the path and the fix', async (_command, argsFor) => {
      const { dataDir, named, databaseFile } = badCase.make();
      const before = databaseFile && sha256OfFile(databaseFile);
      const run = await runCli(argsFor(dataDir));
      expect(run.timedOut).toBe(false);
      expect(run.code).toBe(1);
      expectNoStackTrace(run);
      const errors = run.lines.filter((line) => line.type === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ code: badCase.code, message: expect.stringContaining(named) });
      expect(errors[0]!.message).toMatch(badCase.code === 'DATABASE_CORRUPT' ? /assistant doctor --fix/ : /--data-dir|ASSISTANT_DATA_DIR/);
      if (databaseFile) {
        expect(sha256OfFile(databaseFile)).toBe(before);
        expect(readdirSync(dataDir)).toEqual(['assistant.sqlite3']);
      }
    });

    it('doctor reports a failed data check with the fix instead of crashing', async () => {
      const { dataDir, named } = badCase.make();
      const run = await runCli(['doctor', '--json', '--data-dir', dataDir], { env: { ASSISTANT_LLM_MODEL: TEST_LLM_MODEL } });
      expect(run.timedOut).toBe(false);
      expect(run.code).toBe(1);
      expectNoStackTrace(run);
      const failed = run.lines.filter((line) => line.type === 'check' && line.area === 'data' && line.ok === false);
      expect(failed).toHaveLength(1);
      expect(failed[0]!.summary).toContain(named);
      expect(failed[0]!.fix).toMatch(badCase.code === 'DATABASE_CORRUPT' ? /assistant doctor --fix/ : /--data-dir|ASSISTANT_DATA_DIR/);
    });

    it('serve: an unusable folder exits 1 with the error; a damaged database still serves the UI', async () => {
      const { dataDir, named, databaseFile } = badCase.make();
      const before = databaseFile && sha256OfFile(databaseFile);
      const run = await runCli(['serve', '--json', '--data-dir', dataDir, ...modelArgs], { until: (stdout) => /http:\/\/127\.0\.0\.1:\d+\/\?token=/.test(stdout) });
      expect(run.timedOut).toBe(false);
      expectNoStackTrace(run);
      expect(run.lines.find((line) => line.type === 'error')).toMatchObject({ code: badCase.code, message: expect.stringContaining(named) });
      if (badCase.code === 'DATA_DIR_UNUSABLE') {
        expect(run.code).toBe(1);
        expect(run.stdout).not.toContain('token=');
      } else {
        // Recovery mode: the UI came up (and offers "Move it aside and start fresh"); SIGTERM stopped it cleanly.
        expect(run.stdout).toMatch(/Assistant UI \(browser mode\): http:\/\/127\.0\.0\.1:\d+\/\?token=/);
        expect(run.code).toBe(0);
        expect(sha256OfFile(databaseFile!)).toBe(before);
      }
    });
  });

  it('doctor --fix moves a damaged database aside (kept, unchanged) and the next chat starts fresh', async () => {
    const dataDir = tempDataDir();
    const file = writeDamagedBodyDatabase(dataDir);
    const before = sha256OfFile(file);
    writeFileSync(`${file}-wal`, 'old wal');

    const withoutFix = await runCli(['doctor', '--json', '--data-dir', dataDir], { env: { ASSISTANT_LLM_MODEL: TEST_LLM_MODEL } });
    expect(withoutFix.code).toBe(1);
    expect(sha256OfFile(file)).toBe(before);

    const fixed = await runCli(['doctor', '--json', '--fix', '--data-dir', dataDir], { env: { ASSISTANT_LLM_MODEL: TEST_LLM_MODEL } });
    expect(fixed.code).toBe(0);
    expectNoStackTrace(fixed);
    const moved = readdirSync(dataDir).find((name) => /^assistant\.sqlite3\.corrupt-[\dT-]+Z$/.test(name));
    expect(moved).toBeDefined();
    expect(sha256OfFile(path.join(dataDir, moved!))).toBe(before);
    expect(existsSync(path.join(dataDir, `${moved}-wal`))).toBe(true);
    const report = fixed.lines.find((line) => line.area === 'data' && String(line.summary).includes('moved aside'));
    expect(report?.summary).toContain(path.join(dataDir, moved!));
    // The move is a security event in the data folder's log.
    const logDir = path.join(dataDir, 'logs');
    const logged = readdirSync(logDir).flatMap((name) => readFileSync(path.join(logDir, name), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as object));
    expect(logged).toContainEqual(expect.objectContaining({ audit: 'database-moved-aside', from: file, to: path.join(dataDir, moved!), by: 'doctor --fix' }));

    const chat = await runCli(['chat', '--json', '--data-dir', dataDir, ...modelArgs, 'Once upon a time']);
    expect(chat.code).toBe(0);
    expect(chat.lines.some((line) => line.type === 'done')).toBe(true);
    expect(sha256OfFile(path.join(dataDir, moved!))).toBe(before);
  });

  it('an error no command caught is one line (a JSON error with --json), with the stack only when ASSISTANT_DEBUG=1', async () => {
    // A bad environment value throws while doctor resolves its config, outside any command-level handling. It is a
    // usage error (exit 2) naming the variable.
    const run = await runCli(['doctor', '--json'], { env: { ASSISTANT_LLM_THREADS: 'lots' } });
    expect(run.code).toBe(2);
    expectNoStackTrace(run);
    expect(run.lines).toEqual([{ type: 'error', code: 'INVALID_SETTING', message: expect.stringContaining('ASSISTANT_LLM_THREADS') }]);

    const plain = await runCli(['doctor'], { env: { ASSISTANT_LLM_THREADS: 'lots' } });
    expect(plain.code).toBe(2);
    expectNoStackTrace(plain);
    expect(plain.stderr).toContain('ASSISTANT_LLM_THREADS');

    const debug = await runCli(['doctor'], { env: { ASSISTANT_LLM_THREADS: 'lots', ASSISTANT_DEBUG: '1' } });
    expect(debug.code).toBe(2);
    expect(debug.stderr).toMatch(STACK_FRAME);
  });

  it('reports any other unexpected error as one line, with the stack only when ASSISTANT_DEBUG=1', () => {
    const report = (env: NodeJS.ProcessEnv, argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const io = { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } };
      reportUnexpectedError(new TypeError('x is undefined\nsecond line'), argv, io, env);
      return { stdout, stderr };
    };
    expect(report({}, ['doctor', '--json']).stdout).toBe('{"type":"error","code":"INTERNAL","message":"x is undefined"}\n');
    const plain = report({}, ['doctor']);
    expect(plain.stderr).toBe('Error (INTERNAL): x is undefined\n(Set ASSISTANT_DEBUG=1 to see the details.)\n');
    expect(report({ ASSISTANT_DEBUG: '1' }, ['doctor']).stderr).toMatch(STACK_FRAME);
  });
});
