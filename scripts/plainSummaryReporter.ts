// Prints one plain closing line, "N passed, N failed, N skipped", after vitest's own summary, so any CI log reader
// can tell how many tests ran without parsing vitest's coloured output.
import type { Reporter, RunnerTestFile, RunnerTask } from 'vitest';

function collect(tasks: RunnerTask[], counts: { passed: number; failed: number; skipped: number }): void {
  for (const task of tasks) {
    if (task.type === 'test') {
      const state = task.result?.state;
      if (state === 'pass') counts.passed++;
      else if (state === 'fail') counts.failed++;
      else counts.skipped++;
    } else if ('tasks' in task) {
      collect(task.tasks, counts);
    }
  }
}

export default class PlainSummaryReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = [], errors: unknown[] = []): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    collect(files, counts);
    const failed = counts.failed + (errors.length > 0 && counts.failed === 0 ? errors.length : 0);
    process.stdout.write(`\n${counts.passed} passed, ${failed} failed, ${counts.skipped} skipped\n`);
  }
}
