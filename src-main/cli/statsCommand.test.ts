import { beforeAll, describe, expect, it } from 'vitest';
import { cliBuilt, runAssistantCli, type CliResult } from '../testing/cliProcess.js';
import { TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';

if (!cliBuilt) console.warn('Skipping the stats CLI tests: the CLI is not built (run "npm run build"; "npm test" does it first).');

const DEADLINE_MS = 60_000;
const chatArgs = (dataDir: string, question: string) =>
  ['chat', '--json', '--data-dir', dataDir, '--model', TEST_LLM_MODEL, '--provider', 'embedded', '--threads', '1', question];
/** The stages every answered text turn goes through. */
const TURN_STAGES = ['provider', 'history', 'cache', 'generate', 'first-token'];

interface StageEvent {
  type: 'stage';
  turnId: string;
  name: string;
  phase: 'start' | 'end';
  t: number;
}
interface StatsLine {
  type: 'stats';
  stages: Array<{ name: string; count: number; p50: number | null; p90: number | null; p95: number | null; p99: number | null }>;
  recentTurns: number;
  recent: StatsLine['stages'];
}

describe.skipIf(!cliBuilt)('assistant chat --json stage events, then assistant stats (spawned CLI, real model, real SQLite file)', () => {
  const dataDir = tempDataDir();
  let chat: CliResult;
  let turnId: string;

  beforeAll(async () => {
    chat = await runAssistantCli(chatArgs(dataDir, 'Once upon a time'), { deadlineMs: DEADLINE_MS });
    expect(chat.code, chat.stderr).toBe(0);
    turnId = chat.events.find((e) => e.type === 'done')!.turnId as string;
  });

  it('chat --json prints the start and end of every stage, each end at or after its start, all before done', () => {
    const doneAt = chat.events.findIndex((e) => e.type === 'done');
    const stages = chat.events.filter((e): e is StageEvent & Record<string, unknown> => e.type === 'stage');
    expect(stages.every((e) => e.turnId === turnId)).toBe(true);
    for (const name of TURN_STAGES) {
      const start = chat.events.findIndex((e) => e.type === 'stage' && e.name === name && e.phase === 'start');
      const end = chat.events.findIndex((e) => e.type === 'stage' && e.name === name && e.phase === 'end');
      expect(start, `${name} start`).toBeGreaterThanOrEqual(0);
      expect(end, `${name} end`).toBeGreaterThan(start);
      expect(end, `${name} ends before done`).toBeLessThan(doneAt);
      expect((chat.events[end] as unknown as StageEvent).t).toBeGreaterThanOrEqual((chat.events[start] as unknown as StageEvent).t);
    }
    // Each stage starts and ends once.
    const keys = stages.map((e) => `${e.name}:${e.phase}`);
    expect(new Set(keys).size).toBe(keys.length);
    // The answer is generated after the prepare steps: generation starts once the cache lookup has ended.
    const t = (name: string, phase: 'start' | 'end') => stages.find((e) => e.name === name && e.phase === phase)!.t;
    expect(t('generate', 'start')).toBeGreaterThanOrEqual(t('cache', 'end'));
    expect(t('first-token', 'end')).toBeLessThanOrEqual(t('generate', 'end'));
  });

  it('stats --json prints the stored turn: each stage counted once, with the durations the stage events showed', async () => {
    const run = await runAssistantCli(['stats', '--json', '--data-dir', dataDir], { deadlineMs: DEADLINE_MS });
    expect(run.code, run.stderr).toBe(0);
    expect(run.events).toHaveLength(1);
    const stats = run.events[0] as unknown as StatsLine;
    expect(stats).toMatchObject({ type: 'stats', recentTurns: 100 });
    const stageEvents = chat.events as unknown as StageEvent[];
    const spanOf = (name: string) => {
      const at = (phase: string) => stageEvents.find((e) => e.type === 'stage' && e.name === name && e.phase === phase)!.t;
      return at('end') - at('start');
    };
    for (const name of TURN_STAGES) {
      const row = stats.stages.find((stage) => stage.name === name);
      expect(row, name).toBeDefined();
      expect(row!.count).toBe(1);
      for (const p of [row!.p50, row!.p90, row!.p95, row!.p99]) {
        expect(typeof p).toBe('number');
        // One turn: every percentile is that turn's duration of the stage.
        expect(p!).toBeCloseTo(spanOf(name), 1);
      }
      expect(stats.recent.find((stage) => stage.name === name)).toEqual(row);
    }
  });

  it('stats prints a table of the stages with their count and percentiles', async () => {
    const run = await runAssistantCli(['stats', '--data-dir', dataDir], { deadlineMs: DEADLINE_MS });
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines).toContain('All turns:');
    expect(lines).toContain('Last 100 turns:');
    expect(lines.filter((line) => /^stage\s+count\s+p50\s+p90\s+p95\s+p99$/.test(line))).toHaveLength(2);
    for (const name of TURN_STAGES) {
      const rows = lines.filter((line) => line.startsWith(`${name} `));
      expect(rows, name).toHaveLength(2);
      for (const row of rows) expect(row).toMatch(new RegExp(`^${name}\\s+1(\\s+\\d+\\.\\d){4}$`));
    }
  });

  it('stats with a bad --recent exits 2 and says why', async () => {
    for (const recent of [['--recent', '0'], ['--recent=-3'], ['--recent', 'many'], ['--recent', '1.5']]) {
      const run = await runAssistantCli(['stats', '--json', ...recent, '--data-dir', dataDir], { deadlineMs: DEADLINE_MS });
      expect(run.code, recent.join(' ')).toBe(2);
      expect(run.events).toEqual([{ type: 'error', code: 'INVALID_SETTING', message: expect.stringContaining('--recent must be a whole number from 1 to 1000000') }]);
    }
    const missing = await runAssistantCli(['stats', '--data-dir', dataDir, '--recent'], { deadlineMs: DEADLINE_MS });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--recent');
  });

  it('stats --recent 1 covers the last turn only; a profile without turns says so', async () => {
    const recent = await runAssistantCli(['stats', '--json', '--recent', '1', '--data-dir', dataDir], { deadlineMs: DEADLINE_MS });
    expect(recent.events[0]).toMatchObject({ type: 'stats', recentTurns: 1 });

    const empty = tempDataDir();
    const json = await runAssistantCli(['stats', '--json', '--data-dir', empty], { deadlineMs: DEADLINE_MS });
    expect(json.events).toEqual([{ type: 'stats', stages: [], recentTurns: 100, recent: [] }]);
    const text = await runAssistantCli(['stats', '--data-dir', empty], { deadlineMs: DEADLINE_MS });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('No turns recorded yet');
  });
});
