import { toErrorShape, type StageStats } from '../../src-shared/contract/index.js';
import { resolveAgentConfig } from '../agent/agentConfig.node.js';
import { ConversationStore } from '../agent/memory/conversationStore.node.js';
import { openSqliteDatabase } from '../agent/memory/sqliteDatabase.node.js';
import { databasePathOf } from '../agent/memory/dataDirectory.node.js';
import { existsSync } from 'node:fs';
import { turnStatsFrom } from '../agent/metrics/stageStats.js';
import { parseCommandLine } from './commandLine.node.js';
import { jsonLine, writeCommandError, writeSettingError, type CommandIo } from './commandIo.js';

const USAGE = `Usage: assistant stats [--json] [--recent <n>] [--data-dir <dir>]

Per-stage latency percentiles (p50/p90/p95/p99, ms) of the turns stored in the profile: over every turn, and over
the last <n> turns (default 100). Loads no model.
`;

/** The most turns --recent takes. */
const MAX_RECENT = 1_000_000;

export async function runStatsCommand(args: string[], io: CommandIo): Promise<number> {
  const parsed = parseCommandLine(args, { json: { type: 'boolean' }, recent: { type: 'string' }, 'data-dir': { type: 'string' } }, USAGE, io, false);
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const recent = values.recent === undefined ? 100 : /^[0-9]{1,16}$/.test(values.recent) ? Number(values.recent) : NaN;
  if (!Number.isInteger(recent) || recent < 1 || recent > MAX_RECENT) {
    const shown = String(values.recent).length > 40 ? `${JSON.stringify(String(values.recent).slice(0, 40)).slice(0, -1)}…"` : JSON.stringify(values.recent);
    return writeSettingError(io, args, new Error(`--recent must be a whole number from 1 to ${MAX_RECENT}; got ${shown}.`));
  }
  const json = values.json === true;
  let stats;
  try {
    const dataDir = resolveAgentConfig({ dataDir: values['data-dir'] }).dataDir;
    // Read-only: a profile that has no database yet is not created just to say it is empty.
    if (!existsSync(databasePathOf(dataDir))) stats = turnStatsFrom([], recent);
    else {
      const db = openSqliteDatabase(dataDir);
      try {
        stats = turnStatsFrom(new ConversationStore(db).listStages(), recent);
      } finally {
        db.close();
      }
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
