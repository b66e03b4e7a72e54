import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AgentEvent } from '../../src-shared/contract/index.js';
import type { AgentConfigOverrides } from '../agent/agentConfig.node.js';
import type { ContextStep, VerdictStep } from '../agent/turn/prepareStep.js';
import { createAgent } from '../app/createAgent.node.js';
import type { BenchRow } from './benchStats.js';
import { askForBench } from './benchTurn.js';

/** A bench step standing in for retrieval (not a real one): it takes `ms` and adds nothing to the prompt. */
function benchContextStep(name: string, ms: number): ContextStep {
  return { name, kind: 'context', required: false, timeoutMs: 5_000, run: () => new Promise((resolve) => setTimeout(() => resolve([]), ms)) };
}
/** A bench step standing in for an input check (not a real one): it takes `ms` and allows the question. */
function benchVerdictStep(name: string, ms: number): VerdictStep {
  return { name, kind: 'verdict', required: true, timeoutMs: 5_000, run: () => new Promise((resolve) => setTimeout(() => resolve({ allowed: true }), ms)) };
}

export const PREPARE_STEP_MS = 20;

interface TurnSample {
  ttftMs: number;
  /** From the question received until generation starts. */
  prepareMs: number;
}

async function measure(config: AgentConfigOverrides, sequential: boolean, questions: string[], dataDir: string): Promise<TurnSample[]> {
  const agent = createAgent({
    config: { ...config, dataDir, prepare: { ...config.prepare, sequential } },
    // The setup: two 20 ms steps beside the built-in ones (one that the prompt needs, one that gates output).
    prepareSteps: [benchContextStep('bench-retrieval', PREPARE_STEP_MS), benchVerdictStep('bench-input-check', PREPARE_STEP_MS)],
  });
  try {
    await agent.whenReady();
    const samples: TurnSample[] = [];
    for (const text of questions) {
      const events = await askForBench(agent, text);
      const done = events.find((e) => e.type === 'done');
      const generateStart = events.find((e) => e.type === 'stage' && e.name === 'generate' && e.phase === 'start');
      if (done?.type !== 'done' || done.cached || done.timings.ttftMs === null || generateStart?.type !== 'stage') continue;
      samples.push({ ttftMs: done.timings.ttftMs, prepareMs: generateStart.t });
    }
    return samples;
  } finally {
    await agent.close();
  }
}

/**
 * The prepare stage: its duration and the time to first token with the prepare steps run at once, against one after
 * another, in the same run on the same model, with two 20 ms steps added.
 */
export async function runPrepareStageBench(options: { config: AgentConfigOverrides; runs: number; log(line: string): void }): Promise<BenchRow[]> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'assistant-bench-prepare-'));
  try {
    const questions = (label: string) => Array.from({ length: options.runs }, (_, i) => `Once upon a time, a ${label} story number ${i}`);
    // Alternate the two modes so drift on a noisy machine affects both alike.
    const concurrent: TurnSample[] = [];
    const sequential: TurnSample[] = [];
    for (let round = 0; round < 2; round++) {
      concurrent.push(...(await measure(options.config, false, questions(`concurrent-${round}`), path.join(scratch, `c${round}`))));
      sequential.push(...(await measure(options.config, true, questions(`sequential-${round}`), path.join(scratch, `s${round}`))));
    }
    options.log(`prepare: ${concurrent.length} concurrent and ${sequential.length} sequential turns measured`);
    return [
      { name: 'prepare stage (steps at once)', unit: 'ms', samples: concurrent.map((s) => s.prepareMs) },
      { name: 'prepare stage (steps one after another)', unit: 'ms', samples: sequential.map((s) => s.prepareMs) },
      { name: 'time to first token (prepare at once)', unit: 'ms', samples: concurrent.map((s) => s.ttftMs) },
      { name: 'time to first token (prepare one after another)', unit: 'ms', samples: sequential.map((s) => s.ttftMs) },
    ];
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
