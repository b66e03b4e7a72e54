import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anyText, piiStressText } from '../testing/guardPiiArbitraries.js';
import { createAbuseGuard } from './abuseGuard.js';
import { expectWellFormed } from '../testing/guardVerdicts.js';
import type { Guard, GuardSubject } from './guard.js';
import { measureGuardLatency } from './guardEvaluation.js';
import { createLengthGuard } from './lengthGuard.js';
import { createPiiGuard, redactPii } from './piiGuard.js';

const signal = new AbortController().signal;
const guards: Guard[] = [createPiiGuard(), createAbuseGuard(), createLengthGuard()];
const subjects: GuardSubject[] = ['question', 'passage', 'answer-sentence'];

/** Shapes that make naive patterns backtrack or a finder try every position. */
const ADVERSARIAL_UNITS = ['1 ', '(12) 3-4.5/', '+1 ', '11 ', '0 ', 'a@', 'a.', 'a.b@c.d', 'password: ', 'key ', 'DE89 ', 'sk-', '-----BEGIN PRIVATE KEY-----', 'f u c k ', 'a', '\u202e', '4111 '];

describe.each(guards.map((guard) => [guard.name, guard]))('%s guard: never throws', (_name, guard) => {
  it('on empty, RTL, emoji, NUL, lone surrogates and a megabyte', async () => {
    for (const text of ['', 'שלום עולם', '👨‍👩‍👧‍👦🏴󠁧󠁢󠁥󠁮󠁧󠁿', '\0\0\0', '\ud800abc\udc00', 'x'.repeat(1_000_000), '9 '.repeat(500_000)]) {
      for (const subject of subjects) expectWellFormed(await guard.check(text, { subject }, signal), text);
    }
  });

  it('on any Unicode and on text built from digits, spaces, @ and dots', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyText, piiStressText), fc.constantFrom(...subjects), async (text, subject) => {
        expectWellFormed(await guard.check(text, { subject }, signal), text);
      }),
      { numRuns: 300 },
    );
  });

  it('finishes 100 KB of adversarial text quickly', async () => {
    for (const unit of ADVERSARIAL_UNITS) {
      const text = unit.repeat(Math.ceil(100_000 / unit.length)).slice(0, 100_000);
      const started = performance.now();
      await guard.check(text, { subject: 'question' }, signal);
      const ms = performance.now() - started;
      // Linear scans take tens of milliseconds here; one backtracking pattern takes tens of seconds. The margin is for busy machines.
      expect(ms, `${JSON.stringify(unit)} took ${ms.toFixed(0)} ms`).toBeLessThan(2_000);
    }
  });

  it('stops when its signal is aborted', async () => {
    const aborted = new AbortController();
    aborted.abort(new Error('cancelled'));
    // A guard may answer synchronously (the length guard); an aborted signal still stops it.
    await expect(Promise.resolve().then(() => guard.check('hello', { subject: 'question' }, aborted.signal))).rejects.toThrow('cancelled');
  });
});

describe('long scans yield and can be cancelled', () => {
  it.each([
    ['pii', createPiiGuard(), '(12) 3-4.5/ a@b.co 4111 '],
    ['abuse', createAbuseGuard(), 'the quick brown fox jumps over the lazy dog '],
  ] as const)('%s stops soon after an abort in the middle of a megabyte', async (_name, guard, unit) => {
    const text = unit.repeat(Math.ceil(1_000_000 / unit.length));
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(new Error('barge-in')), 20);
    await expect(guard.check(text, { subject: 'question' }, controller.signal)).rejects.toThrow('barge-in');
    expect(performance.now() - started).toBeLessThan(5_000); // catastrophic backtracking takes minutes; the margin absorbs a busy machine
  });
});

describe('latency', () => {
  const typical = [
    'What is the weather like tomorrow in Berlin, and should I take an umbrella?',
    'Remind me to call +44 20 7946 0958 at 10:30 about order 12345.',
    'How many calories are in 250 g of pasta with two eggs?',
    'Summarise the document about the 2023 budget of $1,299,000 and email it to anna@example.com.',
  ];
  const long = 'The quarterly report from 2023 shows revenue of $4.2 million, up 12% on 2022; call 020 7946 0958 or write to finance@example.com. '
    .repeat(70)
    .slice(0, 8000);

  it.each(guards.map((guard) => [guard.name, guard]))('%s: prints p50/p95 on typical questions and on 8000 characters', async (_name, guard) => {
    const short = await measureGuardLatency(guard, typical, { runs: 200 });
    const eightK = await measureGuardLatency(guard, [long], { runs: 30 });
    console.log(
      `${guard.name} guard: typical p50 ${short.p50Ms.toFixed(3)} ms, p95 ${short.p95Ms.toFixed(3)} ms; ` +
        `8000 chars p50 ${eightK.p50Ms.toFixed(2)} ms, p95 ${eightK.p95Ms.toFixed(2)} ms`,
    );
    // Bounds far above the measured values (see the printout), only to catch a collapse on a busy machine.
    expect(short.p50Ms).toBeLessThan(100);
    expect(eightK.p50Ms).toBeLessThan(2_000);
  });

  it('redactPii on 8000 characters with many findings stays under the runner timeout (500 ms)', () => {
    const started = performance.now();
    redactPii(long);
    expect(performance.now() - started).toBeLessThan(5_000); // catastrophic backtracking takes minutes; the margin absorbs a busy machine
  });
});
