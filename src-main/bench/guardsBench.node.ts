import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AgentEvent } from '../../src-shared/contract/index.js';
import type { AgentConfigOverrides } from '../agent/agentConfig.node.js';
import { silentLogger } from '../agent/agentLogger.js';
import { createAgent } from '../app/createAgent.node.js';
import { writeBenchNotes } from './documentsBench.node.js';
import type { BenchRow } from './benchStats.js';
import { askForBench } from './benchTurn.js';

interface GuardTurns {
  ttftMs: number[];
  /** Each guard's own time on the question, by guard. */
  perGuard: Map<string, number[]>;
}

async function measure(config: AgentConfigOverrides, questions: readonly string[], folder: string | undefined): Promise<GuardTurns> {
  const agent = createAgent({ config, logger: silentLogger });
  const result: GuardTurns = { ttftMs: [], perGuard: new Map() };
  try {
    await agent.whenReady();
    if (folder) {
      const { jobId } = await agent.call('docs:ingest', { paths: [folder] });
      await new Promise<void>((resolve) => {
        const stop = agent.listen((event) => {
          if (event.type === 'docs-progress' && event.jobId === jobId && event.state !== 'running') (stop(), resolve());
        });
      });
    }
    await agent.whenGuardsWarm();
    for (const [index, text] of ['Warm up: once upon a time', ...questions].entries()) {
      const events = await askForBench(agent, text);
      const done = events.find((event) => event.type === 'done');
      if (index === 0 || done?.type !== 'done' || done.cached || done.timings.ttftMs === null) continue;
      result.ttftMs.push(done.timings.ttftMs);
      for (const event of events) {
        if (event.type !== 'guard-verdict' || event.subject !== 'question') continue;
        result.perGuard.set(event.guard, [...(result.perGuard.get(event.guard) ?? []), event.ms]);
      }
    }
    return result;
  } finally {
    await agent.close();
  }
}

/**
 * The guardrails' cost: time to first token with guards on against off, in the same run on the same model, with
 * documents on (retrieval and the injection check share the question's embedding) and off; and each guard's own time.
 * The questions match no document, so the prompt is the same with and without documents.
 */
export async function runGuardsBench(options: { config: AgentConfigOverrides; runs: number; log(line: string): void }): Promise<BenchRow[]> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'assistant-bench-guards-'));
  try {
    const folder = path.join(scratch, 'notes');
    writeBenchNotes(folder, 2);
    const questions = (label: string) => Array.from({ length: options.runs }, (_, i) => `Once upon a time a ${label} bird number ${i} sang in the rain`);
    const base: AgentConfigOverrides = { ...options.config, voice: { enabled: false } };
    const variant = (name: string, guards: boolean, documents: boolean) =>
      measure({ ...base, dataDir: path.join(scratch, name), guards: { enabled: guards }, documents: { enabled: documents } }, questions(name), documents ? folder : undefined);
    const onDocs = await variant('guarded-docs', true, true);
    const offDocs = await variant('open-docs', false, true);
    const onPlain = await variant('guarded-plain', true, false);
    const offPlain = await variant('open-plain', false, false);
    options.log(`guards: ${onDocs.ttftMs.length + offDocs.ttftMs.length + onPlain.ttftMs.length + offPlain.ttftMs.length} turns measured`);
    const rows: BenchRow[] = [
      { name: 'time to first token (guards on, documents on)', unit: 'ms', samples: onDocs.ttftMs },
      { name: 'time to first token (guards off, documents on)', unit: 'ms', samples: offDocs.ttftMs },
      { name: 'time to first token (guards on, documents off)', unit: 'ms', samples: onPlain.ttftMs },
      { name: 'time to first token (guards off, documents off)', unit: 'ms', samples: offPlain.ttftMs },
    ];
    for (const [guard, samples] of onDocs.perGuard) rows.push({ name: `guard ${guard} on the question (documents on)`, unit: 'ms', samples });
    for (const [guard, samples] of onPlain.perGuard) rows.push({ name: `guard ${guard} on the question (documents off)`, unit: 'ms', samples });
    return rows;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
