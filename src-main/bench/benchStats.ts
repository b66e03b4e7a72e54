/** Nearest-rank percentile of a sample (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export interface BenchRow {
  name: string;
  unit: string;
  samples: number[];
}

export function summarize(row: BenchRow): { name: string; unit: string; n: number; p50: number; p95: number; mean: number } {
  const mean = row.samples.reduce((a, b) => a + b, 0) / Math.max(1, row.samples.length);
  return { name: row.name, unit: row.unit, n: row.samples.length, p50: percentile(row.samples, 50), p95: percentile(row.samples, 95), mean };
}

export function formatBenchTable(rows: BenchRow[]): string {
  const fmt = (v: number) => (Number.isNaN(v) ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
  const lines = [`${'measure'.padEnd(50)} ${'n'.padStart(3)} ${'p50'.padStart(9)} ${'p95'.padStart(9)}  unit`];
  for (const row of rows) {
    const s = summarize(row);
    lines.push(`${s.name.padEnd(50)} ${String(s.n).padStart(3)} ${fmt(s.p50).padStart(9)} ${fmt(s.p95).padStart(9)}  ${s.unit}`);
  }
  return lines.join('\n');
}
