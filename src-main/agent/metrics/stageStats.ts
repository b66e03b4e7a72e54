import type { StageSpan, StageStats, TurnStats } from '../../../src-shared/contract/index.js';

/** Nearest-rank percentile of sorted values; null when there are none. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** p50/p90/p95/p99 of each stage's durations, stages in first-seen order. */
export function stageStats(durationsByStage: ReadonlyMap<string, readonly number[]>): StageStats[] {
  return [...durationsByStage].map(([name, durations]) => {
    const sorted = [...durations].sort((a, b) => a - b);
    const at = (p: number) => {
      const value = percentile(sorted, p);
      return value === null ? null : Math.round(value * 10) / 10;
    };
    return { name, count: sorted.length, p50: at(50), p90: at(90), p95: at(95), p99: at(99) };
  });
}

export interface StoredStage {
  turnId: string;
  name: string;
  startMs: number;
  endMs: number;
}

/** Percentiles over every stored turn and over the most recent `recentTurns` of them (rows oldest first). */
export function turnStatsFrom(rows: readonly StoredStage[], recentTurns: number): TurnStats {
  const byStage = (subset: readonly StoredStage[]) => {
    const map = new Map<string, number[]>();
    for (const row of subset) {
      const list = map.get(row.name) ?? [];
      list.push(row.endMs - row.startMs);
      map.set(row.name, list);
    }
    return map;
  };
  const turnOrder: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) if (!seen.has(row.turnId)) seen.add(row.turnId), turnOrder.push(row.turnId);
  const recent = new Set(turnOrder.slice(-recentTurns));
  return {
    type: 'stats',
    stages: stageStats(byStage(rows)),
    recentTurns,
    recent: stageStats(byStage(rows.filter((row) => recent.has(row.turnId)))),
  };
}

/** The stages of one turn, for its waterfall picture. */
export function waterfallOf(rows: readonly StoredStage[]): StageSpan[] {
  return rows.map((row) => ({ name: row.name, startMs: row.startMs, endMs: row.endMs }));
}
