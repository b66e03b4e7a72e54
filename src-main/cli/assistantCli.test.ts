import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createAgent } from '../app/createAgent.node.js';
import { TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'bin/assistant.js');
const built = existsSync(path.join(root, 'build/src-main/cli/assistantCli.node.js'));
if (!built) console.warn('Skipping the CLI tests: the CLI is not built (run "npm run build"; "npm test" does it first).');

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: Array<Record<string, unknown>>;
  stderr: string;
}

function runCli(
  args: string[],
  options: {
    killAfter?: (events: Array<Record<string, unknown>>) => boolean;
    stdin?: string;
    env?: NodeJS.ProcessEnv;
    /** Kill the process and fail when it has not exited by then. */
    deadlineMs?: number;
  } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [cli, ...args], {
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    if (options.stdin !== undefined) child.stdin!.end(options.stdin);
    const events: Array<Record<string, unknown>> = [];
    let buffer = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.trim()) events.push(JSON.parse(line) as Record<string, unknown>);
        if (options.killAfter?.(events)) child.kill('SIGKILL');
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline =
      options.deadlineMs === undefined
        ? undefined
        : setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`assistant ${args.join(' ')} did not exit within ${options.deadlineMs} ms. stderr: ${stderr}`));
          }, options.deadlineMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(deadline);
      resolve({ code, signal, events, stderr });
    });
  });
}

const chatArgs = (dataDir: string, ...rest: string[]) => ['chat', '--json', '--data-dir', dataDir, '--model', TEST_LLM_MODEL, '--provider', 'embedded', '--threads', '1', ...rest];

describe.skipIf(!built)('assistant CLI (spawned process, real model, real SQLite file)', () => {
  it('chat --json streams token events then a done event with timings, exit 0', async () => {
    const run = await runCli(chatArgs(tempDataDir(), 'Once upon a time'));
    expect(run.code).toBe(0);
    const tokens = run.events.filter((e) => e.type === 'token');
    const done = run.events.find((e) => e.type === 'done') as { text: string; cached: boolean; timings: { ttftMs: number; totalMs: number } };
    expect(tokens.length).toBeGreaterThan(3);
    expect(tokens.map((e) => e.text).join('')).toBe(done.text);
    expect(done.cached).toBe(false);
    expect(done.timings.ttftMs).toBeGreaterThan(0);
    expect(done.timings.totalMs).toBeGreaterThanOrEqual(done.timings.ttftMs);
  });

  it('an empty question prints an error event and exits non-zero', async () => {
    const run = await runCli(chatArgs(tempDataDir(), '   '));
    expect(run.code).toBe(1);
    expect(run.events).toContainEqual(expect.objectContaining({ type: 'error', code: 'EMPTY_QUESTION' }));
  });

  it('a missing model prints MODEL_MISSING naming the path', async () => {
    const dataDir = tempDataDir();
    const missing = path.join(dataDir, 'absent.gguf');
    const run = await runCli(['chat', '--json', '--data-dir', dataDir, '--model', missing, '--provider', 'embedded', 'hello']);
    expect(run.code).toBe(1);
    const error = run.events.find((e) => e.type === 'error') as { code: string; message: string };
    expect(error.code).toBe('MODEL_MISSING');
    expect(error.message).toContain(missing);
  });

  it('a damaged GGUF or a directory as --model: exit 1, one JSON error naming the path, no stack frames', async () => {
    const dataDir = tempDataDir();
    const stub = path.join(dataDir, 'stub.gguf');
    const header = Buffer.alloc(64);
    header.write('GGUF', 0, 'latin1');
    header.writeUInt32LE(3, 4);
    writeFileSync(stub, header);
    const models = path.join(dataDir, 'models');
    mkdirSync(models);
    writeFileSync(path.join(models, 'chat.gguf'), header);
    for (const [model, says] of [
      [stub, `${stub} is not a usable GGUF model (`],
      [models, `${models} is a directory; --model / ASSISTANT_LLM_MODEL needs a .gguf file, e.g. ${path.join(models, 'chat.gguf')}`],
    ]) {
      const run = await runCli(['chat', '--json', '--model', model!, '--provider', 'embedded', '--data-dir', dataDir, 'hi'], { deadlineMs: 30_000 });
      expect(run.code).toBe(1);
      const errors = run.events.filter((e) => e.type === 'error') as Array<{ code: string; message: string }>;
      expect(errors).toHaveLength(1);
      expect(['MODEL_CORRUPT', 'MODEL_MISSING']).toContain(errors[0]!.code);
      expect(errors[0]!.message).toContain(says);
      expect(errors[0]!.message).toMatch(/models pull|--model/);
      expect(`${JSON.stringify(run.events)}\n${run.stderr}`).not.toMatch(/ {4}at |\\n {4}at |Cannot read properties|EISDIR/);
    }
  });

  it('interactive chat (no question): each line is a turn in one conversation', async () => {
    const dataDir = tempDataDir();
    const run = await runCli(chatArgs(dataDir), { stdin: 'Once upon a time\nThe cat sat\n' });
    expect(run.code).toBe(0);
    const done = run.events.filter((e) => e.type === 'done') as Array<{ conversationId: string; text: string }>;
    expect(done).toHaveLength(2);
    expect(done[0]!.conversationId).toBe(done[1]!.conversationId);
    expect(done.every((d) => d.text.length > 0)).toBe(true);
  });

  it('doctor reports models, Ollama, the Electron binary and the data dir, each with a fix when missing', async () => {
    const dataDir = tempDataDir();
    const run = await runCli(['doctor', '--json'], { env: { ASSISTANT_DATA_DIR: dataDir, OLLAMA_HOST: 'http://127.0.0.1:9' } });
    const checks = run.events as Array<{ area: string; ok: boolean; summary: string; fix?: string }>;
    expect(checks.map((c) => c.area)).toEqual(expect.arrayContaining(['models', 'ollama', 'electron', 'data']));
    expect(checks.find((c) => c.area === 'data')).toMatchObject({ ok: true, summary: expect.stringContaining(dataDir) });
    const ollama = checks.find((c) => c.area === 'ollama')!;
    expect(ollama.ok).toBe(false);
    expect(ollama.fix).toMatch(/ollama serve|OLLAMA_HOST/);
    for (const check of checks.filter((c) => !c.ok)) expect(check.fix).toBeTruthy();
  });

  it('crash: kill -9 mid-answer keeps the question and the partial answer; the cache still hits after restart', async () => {
    const dataDir = tempDataDir();
    const complete = await runCli(chatArgs(dataDir, 'The little red hen'));
    expect(complete.code).toBe(0);

    // Two threads make stories260K slow enough (~50 tokens/s here) to kill it mid-answer.
    let firstTokenAt = 0;
    const crashed = await runCli(chatArgs(dataDir, '--threads', '2', '--max-tokens', '1500', 'Tell a long story about a brave knight'), {
      killAfter: (events) => {
        const tokens = events.filter((e) => e.type === 'token').length;
        if (tokens === 1) firstTokenAt = performance.now();
        // Past the 200 ms flush interval, so part of the answer has reached the disk.
        return tokens >= 5 && performance.now() - firstTokenAt > 600;
      },
    });
    expect(crashed.signal).toBe('SIGKILL');
    expect(crashed.events.some((e) => e.type === 'done')).toBe(false);
    const streamed = crashed.events.filter((e) => e.type === 'token').map((e) => e.text).join('');

    const agent = createAgent({ config: { dataDir, voice: { enabled: false }, llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 } } });
    const conversations = await agent.call('conversations:list');
    expect(conversations).toHaveLength(2);
    const crashedConversation = conversations.find((c) => c.title.startsWith('Tell a long story'))!;
    const messages = await agent.call('conversations:messages', { id: crashedConversation.id });
    expect(messages[0]).toMatchObject({ role: 'user', text: 'Tell a long story about a brave knight', status: 'complete' });
    expect(messages[1]).toMatchObject({ role: 'assistant', status: 'crashed' });
    expect(messages[1]!.text.length).toBeGreaterThan(0);
    expect(streamed.startsWith(messages[1]!.text)).toBe(true);
    await agent.close();

    const again = await runCli(chatArgs(dataDir, 'the little red hen'));
    expect(again.events.find((e) => e.type === 'done')).toMatchObject({ cached: true });
  });
});

describe.skipIf(!built)('assistant chat --council (spawned process, real stories260K)', () => {
  it('prints the council events in order, then the chairman’s answer as the done event', async () => {
    const run = await runCli(chatArgs(tempDataDir(), '--max-tokens', '30', '--council', 'Once upon a time'), { deadlineMs: 90_000 });
    expect(run.code).toBe(0);
    const council = run.events.filter((event) => event.type === 'council');
    expect(council.map((event) => event.seq)).toEqual(council.map((_, index) => index + 1));
    expect(council.filter((event) => event.kind === 'answer')).toHaveLength(3);
    expect(council.some((event) => event.kind === 'aggregate')).toBe(true);
    const done = run.events.find((event) => event.type === 'done');
    expect(String(done?.text).length).toBeGreaterThan(0);
    expect(run.events.indexOf(council.at(-1)!)).toBeLessThan(run.events.indexOf(done!));
  }, 120_000);

  it('refuses --members without --council, and a bad member list, with exit 2 and no stack trace', async () => {
    const lone = await runCli(chatArgs(tempDataDir(), '--members', 'fast,fast', 'hi'), { deadlineMs: 30_000 });
    expect(lone.code).toBe(2);
    expect(lone.stderr).toContain('--members and --chairman go with --council.');
    const empty = await runCli(chatArgs(tempDataDir(), '--council', '--members', ' , ', 'hi'), { deadlineMs: 30_000 });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/--members takes 1 to 8 models/);
    expect(empty.stderr).not.toMatch(/\n\s+at /);
  });
});
