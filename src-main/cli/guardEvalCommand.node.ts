import { UseLiteEmbedder } from '../documents/useLiteEmbedder.node.js';
import { createAbuseGuard } from '../guards/abuseGuard.js';
import { abuseHoldoutSamples } from '../guards/evaluation/abuseHoldout.js';
import { abuseSamples } from '../guards/evaluation/abuseSamples.js';
import { injectionAttacks } from '../guards/evaluation/injectionAttacks.js';
import { injectionBenign } from '../guards/evaluation/injectionBenign.js';
import { injectionHoldoutRounds } from '../guards/evaluation/injectionHoldout.js';
import { piiHoldoutSamples } from '../guards/evaluation/piiHoldout.js';
import { piiSamples } from '../guards/evaluation/piiSamples.js';
import type { Guard, GuardSubject } from '../guards/guard.js';
import { evaluateGuard, type GuardSample } from '../guards/guardEvaluation.js';
import { InjectionGuard } from '../guards/injectionGuard.js';
import { createPiiGuard } from '../guards/piiGuard.js';
import { jsonLine, writeUsageError, type CommandIo } from './commandIo.js';
import { parseCommandLine } from './commandLine.node.js';

const USAGE = `Usage: assistant guard-eval [--json] [--show-misses]

Runs each guard over the evaluation sets kept in the repo (src-main/guards/evaluation/) and prints its detection rate
(attacks or personal data flagged) and false-positive rate (benign texts flagged, many with the same trigger words).
"tuned" sets were written together with the guards; "held-out" sets were written later and never tuned against, so
they say more about text nobody has seen (the injection guard's later rounds were tuned on after their first measure). The injection guard runs with the real USE-lite embedder.
`;

const asSamples = (attacks: readonly string[], benign: readonly string[]): GuardSample[] => [
  ...attacks.map((text) => ({ text, expected: true })),
  ...benign.map((text) => ({ text, expected: false })),
];

/** `assistant guard-eval`: detection and false-positive rates per guard, on the repo's evaluation sets. */
export async function runGuardEvalCommand(args: string[], io: CommandIo): Promise<number> {
  const parsed = parseCommandLine(args, { json: { type: 'boolean' }, 'show-misses': { type: 'boolean' } }, USAGE, io, false);
  if (typeof parsed === 'number') return parsed;
  if (parsed.positionals.length > 0) return writeUsageError(io, args, 'guard-eval takes no arguments.', USAGE);
  const json = parsed.values.json === true;
  const embedder = new UseLiteEmbedder();
  try {
    const injection = new InjectionGuard({ embedder });
    await injection.warmUp();
    const runs: Array<{ guard: Guard; set: string; samples: readonly GuardSample[]; subject?: GuardSubject }> = [
      { guard: injection, set: 'tuned', samples: asSamples(injectionAttacks, injectionBenign) },
      {
        guard: injection,
        // Five later rounds, each measured once unseen (43–56 % detected in the first four, 82 % in the fifth; 0–5 % false
        // positives; see injectionHoldout.ts) and tuned on afterwards: no longer held out.
        set: 'later rounds (since tuned)',
        samples: injectionHoldoutRounds.flatMap((round) => asSamples(round.attacks, round.benign)),
      },
      { guard: injection, set: 'tuned, as document passages', samples: asSamples(injectionAttacks, injectionBenign), subject: 'passage' },
      { guard: createPiiGuard(), set: 'tuned', samples: piiSamples },
      { guard: createPiiGuard(), set: 'held-out', samples: piiHoldoutSamples },
      { guard: createAbuseGuard(), set: 'tuned', samples: abuseSamples },
      { guard: createAbuseGuard(), set: 'held-out', samples: abuseHoldoutSamples },
    ];
    const pct = (value: number) => `${(value * 100).toFixed(1)}%`;
    if (!json) io.stdout.write(`${'guard'.padEnd(10)} ${'set'.padEnd(28)} ${'detected'.padStart(14)} ${'false positives'.padStart(16)}\n`);
    for (const run of runs) {
      const result = await evaluateGuard(run.guard, run.samples, run.subject ? { subject: run.subject } : {});
      if (json) {
        io.stdout.write(
          jsonLine({
            type: 'guard-eval',
            guard: run.guard.name,
            set: run.set,
            positives: result.positives,
            detected: result.detected,
            detectionRate: result.detectionRate,
            negatives: result.negatives,
            falsePositives: result.falsePositives,
            falsePositiveRate: result.falsePositiveRate,
            errors: result.errors,
          }),
        );
      } else {
        const detected = `${result.detected}/${result.positives} ${pct(result.detectionRate)}`;
        const falsePositives = `${result.falsePositives}/${result.negatives} ${pct(result.falsePositiveRate)}`;
        io.stdout.write(`${run.guard.name.padEnd(10)} ${run.set.padEnd(28)} ${detected.padStart(14)} ${falsePositives.padStart(16)}\n`);
        if (parsed.values['show-misses'] === true) {
          for (const missed of result.missedSamples) io.stdout.write(`    missed: ${missed.text.slice(0, 120)}\n`);
          for (const flagged of result.falsePositiveSamples) io.stdout.write(`    false positive: ${flagged.text.slice(0, 120)}\n`);
        }
      }
    }
    return 0;
  } finally {
    await embedder.close();
  }
}
