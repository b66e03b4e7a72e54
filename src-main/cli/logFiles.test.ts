import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliBuilt, runAssistantCli } from '../testing/cliProcess.js';
import { TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';

if (!cliBuilt) console.warn('Skipping the log file tests: the CLI is not built (run "npm run build"; "npm test" does it first).');

const QUESTION = 'Once upon a time a purple walrus named Quillby found a lantern';

interface LogLine {
  level: number;
  msg: string;
  turnId?: string;
  [field: string]: unknown;
}

/** Asks one question with the spawned CLI; returns the turn, its answer and the log files' raw text and lines. */
async function chatAndReadLogs(logLevel: string | undefined) {
  const dataDir = tempDataDir();
  const run = await runAssistantCli(
    ['chat', '--json', '--data-dir', dataDir, '--model', TEST_LLM_MODEL, '--provider', 'embedded', '--threads', '1', QUESTION],
    { env: { ASSISTANT_LOG_LEVEL: logLevel }, deadlineMs: 60_000 },
  );
  expect(run.code, run.stderr).toBe(0);
  const done = run.events.find((e) => e.type === 'done') as { turnId: string; conversationId: string; text: string };
  const logDir = path.join(dataDir, 'logs');
  const files = readdirSync(logDir).filter((name) => name.endsWith('.log'));
  const raw = files.map((name) => readFileSync(path.join(logDir, name), 'utf8')).join('');
  const lines = raw.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as LogLine);
  return { done, files, raw, lines };
}

/** Every way a text can appear in a JSON-lines file: as is, and JSON-escaped (newlines, quotes). */
function spellings(text: string): string[] {
  return [text, JSON.stringify(text).slice(1, -1)];
}

describe.skipIf(!cliBuilt)('log files (spawned CLI, real model)', () => {
  it('writes JSON lines to <data dir>/logs, each line about the turn carries its id, and no question or answer text', async () => {
    const { done, files, raw, lines } = await chatAndReadLogs(undefined);
    expect(files.length).toBeGreaterThanOrEqual(1);
    expect(files.every((name) => /^assistant\..*\.log$/.test(name))).toBe(true);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatchObject({ level: expect.any(Number), msg: expect.any(String), time: expect.any(String) });

    // The turn is in the log (its summary at info level), and every line that mentions it names it by its id.
    const aboutTheTurn = lines.filter((line) => JSON.stringify(line).includes(done.turnId) || line.msg === 'turn done');
    expect(aboutTheTurn.map((line) => line.msg)).toContain('turn done');
    for (const line of aboutTheTurn) expect(line.turnId).toBe(done.turnId);
    expect(lines.find((line) => line.msg === 'turn done')).toMatchObject({ conversationId: done.conversationId, cached: false, tokens: expect.any(Number) });

    // The user's words and the answer are not logged at the default level.
    expect(done.text.length).toBeGreaterThan(20);
    for (const text of [QUESTION, 'purple walrus', done.text, done.text.slice(0, 40)]) {
      for (const spelling of spellings(text)) expect(raw).not.toContain(spelling);
    }
    expect(lines.some((line) => line.msg === 'question' || line.msg === 'answer')).toBe(false);
  });

  it('with ASSISTANT_LOG_LEVEL=debug logs the question and the answer, each with its turn id', async () => {
    const { done, raw, lines } = await chatAndReadLogs('debug');
    expect(lines.find((line) => line.msg === 'question')).toMatchObject({ turnId: done.turnId, question: QUESTION, level: 20 });
    expect(lines.find((line) => line.msg === 'answer')).toMatchObject({ turnId: done.turnId, answer: done.text, level: 20 });
    expect(raw).toContain(QUESTION);
  });
});
