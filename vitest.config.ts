import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['scripts/**/*.test.ts', 'src-shared/**/*.test.ts', 'src-main/**/*.test.ts', 'src-renderer/**/*.test.ts', 'e2e/**/*.test.ts'],
    // Native addons (node-llama-cpp, better-sqlite3) are safest in child processes.
    globalSetup: ['scripts/testModelSetup.ts'],
    // The guardrails are on by default in the app; tests of other features run without them (the injection check embeds
    // its bank of attack phrasings at first use, seconds of CPU per fresh profile). Guard tests turn them on themselves.
    env: { ASSISTANT_GUARDS: 'off' },
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // An unhandled rejection anywhere fails the run (vitest's default, kept on purpose: checked with a deliberately
    // broken test, which made `vitest run` exit 1 with "1 error" although every test passed).
    dangerouslyIgnoreUnhandledErrors: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default', './scripts/plainSummaryReporter.ts'],
  },
});
