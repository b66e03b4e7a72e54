import { toErrorShape, type StageStats } from '../../src-shared/contract/index.js';
import { resolveAgentConfig } from '../agent/agentConfig.node.js';
import { ConversationStore } from '../agent/memory/conversationStore.node.js';
import { openSqliteDatabase } from '../agent/memory/sqliteDatabase.node.js';
import { turnStatsFrom } from '../agent/metrics/stageStats.js';
import { parseCommandLine } from './commandLine.node.js';
import { jsonLine, writeCommandError, type CommandIo } from './commandIo.js';

const USAGE = `Usage: assistant stats [--json] [--recent <n>] [--data-dir <dir>]

Per-stage latency percentiles (p50/p90/p95/p99, ms) of the turns stored in the profile: over every turn, and over
the last <n> turns (default 100). Loads no model.
`;

export async function runStatsCommand(args: string[], io: CommandIo): Promise<number> {
  const parsed = parseCommandLine(args, { json: { type: 'boolean' }, recent: { type: 'string' }, 'data-dir': { type: 'string' } }, USAGE, io, false);
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const recent = values.recent === undefined ? 100 : Number(values.recent);
  if (!Number.isInteger(recent) || recent <= 0) {
    io.stderr.write(`--recent must be a positive integer, got "${values.recent}"\n`);
    return 2;
  }
  const json = values.json === true;
  let stats;
  try {
    const db = openSqliteDatabase(resolveAgentConfig({ dataDir: values['data-dir'] }).dataDir);
    try {
      stats = turnStatsFrom(new ConversationStore(db).listStages(), recent);
    } finally {
      db.close();
    }
  } catch (error) {
    const shape = toErrorShape(error);
    writeCommandError(io, json, shape);
    // A bad env var or --data-dir value is a usage error.
    return shape.code === 'INVALID_SETTING' ? 2 : 1;
  }
  if (json) {
    io.stdout.write(jsonLine(stats));
    return 0;
  }
  if (stats.stages.length === 0) {
    io.stdout.write('No turns recorded yet. Ask something first (assistant chat "hello").\n');
    return 0;
  }
  io.stdout.write(`All turns:\n${table(stats.stages)}\nLast ${stats.recentTurns} turns:\n${table(stats.recent)}`);
  return 0;
}

function table(rows: StageStats[]): string {
  const cell = (value: number | null) => (value === null ? '-' : value.toFixed(1)).padStart(9);
  const header = `${'stage'.padEnd(18)}${'count'.padStart(7)}${['p50', 'p90', 'p95', 'p99'].map((h) => h.padStart(9)).join('')}\n`;
  return header + rows.map((r) => `${r.name.padEnd(18)}${String(r.count).padStart(7)}${cell(r.p50)}${cell(r.p90)}${cell(r.p95)}${cell(r.p99)}\n`).join('');
}
