/**
 * Runs `work` while a 10 ms interval ticks; returns the longest time the main event loop went without a tick. Work
 * that blocks this thread (a model or a synthesizer run on it) shows up as a gap as long as the blocking call.
 */
export async function longestEventLoopGap(work: () => Promise<unknown>): Promise<number> {
  let lastTick = performance.now();
  let longestGap = 0;
  const interval = setInterval(() => {
    const now = performance.now();
    longestGap = Math.max(longestGap, now - lastTick);
    lastTick = now;
  }, 10);
  try {
    await work();
    return Math.max(longestGap, performance.now() - lastTick);
  } finally {
    clearInterval(interval);
  }
}
