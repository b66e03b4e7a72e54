/** A time axis for a waterfall: round ticks (1, 2 or 5 × 10^k ms apart) from 0 to at least `longestMs`. */
export interface TimeAxis {
  /** The axis' end, in ms: the last tick, at or beyond `longestMs`. */
  maxMs: number;
  ticks: number[];
}

export function timeAxis(longestMs: number, targetTicks = 5): TimeAxis {
  const longest = Number.isFinite(longestMs) && longestMs > 0 ? longestMs : 1;
  const rough = longest / targetTicks;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= rough) ?? 10 * magnitude;
  const count = Math.max(1, Math.ceil(longest / step - 1e-9));
  const ticks = Array.from({ length: count + 1 }, (_, i) => roundMs(i * step));
  return { maxMs: ticks[ticks.length - 1]!, ticks };
}

/** "0.4", "12", "1,250": a duration in ms with a decimal only where it matters. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '—';
  return ms < 10 ? roundMs(ms).toString() : Math.round(ms).toLocaleString('en');
}

/** "0.4 ms", "12 ms", "1,250 ms". */
export function formatMs(ms: number | null): string {
  return ms === null ? '—' : `${formatDuration(ms)} ms`;
}

function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}
