import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { AgentConfigOverrides } from '../agent/agentConfig.node.js';
import { silentLogger } from '../agent/agentLogger.js';
import type { AgentService } from '../agent/agentService.js';
import { createAgent } from '../app/createAgent.node.js';
import { scoreInjectionHeuristics } from '../guards/injectionGuard.js';
import { WorkerInjectionScanner } from '../guards/workerInjectionScanner.node.js';
import { unrelatedQuestions, writeBenchNotes } from './documentsBench.node.js';
import type { BenchRow } from './benchStats.js';
import { askForBench } from './benchTurn.js';

interface GuardTurns {
  ttftMs: number[];
  /** Each guard's own time on the question, by guard. */
  perGuard: Map<string, number[]>;
}

interface PairedTurns {
  on: GuardTurns;
  off: GuardTurns;
  /** Per question, guarded minus open time to first token: the pairing cancels the load both turns shared. */
  addedMs: number[];
  /** Questions left out because a passage matched (the prompt, and so the prefill, then differs from run to run). */
  withPassages: number;
}

async function openAgent(config: AgentConfigOverrides, folder: string | undefined): Promise<AgentService & { close(): Promise<void> }> {
  const agent = createAgent({ config, logger: silentLogger });
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
  return agent;
}

interface TurnReading {
  ttftMs: number;
  cited: boolean;
  perGuard: Array<[string, number]>;
}

async function askOnce(agent: AgentService, text: string): Promise<TurnReading | undefined> {
  const events = await askForBench(agent, text);
  const done = events.find((event) => event.type === 'done');
  if (done?.type !== 'done' || done.cached || done.timings.ttftMs === null) return undefined;
  const perGuard: Array<[string, number]> = [];
  for (const event of events) if (event.type === 'guard-verdict' && event.subject === 'question') perGuard.push([event.guard, event.ms]);
  return { ttftMs: done.timings.ttftMs, cited: done.citations.length > 0, perGuard };
}

function record(into: GuardTurns, reading: TurnReading): void {
  into.ttftMs.push(reading.ttftMs);
  for (const [guard, ms] of reading.perGuard) into.perGuard.set(guard, [...(into.perGuard.get(guard) ?? []), ms]);
}

/**
 * Guards on against off, measured in pairs: both agents are open at once and answer the same question one after the
 * other (the order swapped every round), so the machine's load at any moment falls on both alike.
 */
async function measurePair(base: AgentConfigOverrides, scratch: string, label: string, folder: string | undefined, runs: number): Promise<PairedTurns> {
  const variant = (guards: boolean) =>
    openAgent({ ...base, dataDir: path.join(scratch, `${label}-${guards ? 'guarded' : 'open'}`), guards: { enabled: guards }, documents: { enabled: folder !== undefined } }, folder);
  const on = await variant(true);
  const off = await variant(false);
  const result: PairedTurns = { on: { ttftMs: [], perGuard: new Map() }, off: { ttftMs: [], perGuard: new Map() }, addedMs: [], withPassages: 0 };
  try {
    const warmUps = 2;
    const questions = unrelatedQuestions(runs + warmUps, 21);
    for (let round = 0; round < runs + warmUps; round += 1) {
      // Numbered, so that no answer comes from the cache.
      const question = `${questions[round]} (${label} ${round})`;
      const first = round % 2 === 0 ? on : off;
      const second = first === on ? off : on;
      const readings = new Map([[first, await askOnce(first, question)], [second, await askOnce(second, question)]]);
      const guarded = readings.get(on);
      const open = readings.get(off);
      if (round < warmUps || guarded === undefined || open === undefined) continue;
      if (guarded.cited || open.cited) {
        result.withPassages += 1;
        continue;
      }
      record(result.on, guarded);
      record(result.off, open);
      result.addedMs.push(guarded.ttftMs - open.ttftMs);
    }
    return result;
  } finally {
    await Promise.all([on.close(), off.close()]);
  }
}

/** Rows of per-question differences (guarded minus open), whose p50 is the guards' cost. */
export const GUARDS_ADD_DOCS_ON = 'guards add to time to first token, per question (documents on)';
export const GUARDS_ADD_DOCS_OFF = 'guards add to time to first token, per question (documents off)';

/**
 * The injection heuristics on a question after two full garbage collections (as a long answer streamed between two
 * questions causes): V8 has then discarded the compiled code of regular expressions that did not run, so a scan on
 * the main thread compiles its few hundred patterns again; the worker keeps them in use.
 */
async function measureAfterCollections(runs: number): Promise<{ mainThread: number[]; worker: number[] }> {
  v8.setFlagsFromString('--expose-gc');
  const collect = vm.runInNewContext('gc') as () => void;
  const question = 'Once upon a time a bird sang in the rain; what happened next?';
  const scanner = new WorkerInjectionScanner();
  const result = { mainThread: [] as number[], worker: [] as number[] };
  try {
    await scanner.warmUp();
    scoreInjectionHeuristics(question);
    for (let run = 0; run < runs; run += 1) {
      (collect(), collect());
      let started = performance.now();
      scoreInjectionHeuristics(`${question} (${run})`);
      result.mainThread.push(performance.now() - started);
      (collect(), collect());
      started = performance.now();
      await scanner.scan(`${question} (${run})`, new AbortController().signal);
      result.worker.push(performance.now() - started);
    }
    return result;
  } finally {
    await scanner.close();
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
    const base: AgentConfigOverrides = { ...options.config, voice: { enabled: false } };
    // Enough turns for a stable median even when --runs is small: the difference sought is a few milliseconds.
    const runs = Math.max(options.runs, 60);
    const docs = await measurePair(base, scratch, 'docs', folder, runs);
    const plain = await measurePair(base, scratch, 'plain', undefined, runs);
    options.log(
      `guards: ${docs.addedMs.length + plain.addedMs.length} questions measured in pairs (guarded and open agents taking turns); ` +
        `${docs.withPassages} left out because a passage matched`,
    );
    const rows: BenchRow[] = [
      { name: 'time to first token (guards on, documents on)', unit: 'ms', samples: docs.on.ttftMs },
      { name: 'time to first token (guards off, documents on)', unit: 'ms', samples: docs.off.ttftMs },
      { name: GUARDS_ADD_DOCS_ON, unit: 'ms', samples: docs.addedMs },
      { name: 'time to first token (guards on, documents off)', unit: 'ms', samples: plain.on.ttftMs },
      { name: 'time to first token (guards off, documents off)', unit: 'ms', samples: plain.off.ttftMs },
      { name: GUARDS_ADD_DOCS_OFF, unit: 'ms', samples: plain.addedMs },
    ];
    const afterCollections = await measureAfterCollections(Math.min(runs, 12));
    rows.push(
      { name: 'injection heuristics after 2 full GCs, on the main thread', unit: 'ms', samples: afterCollections.mainThread },
      { name: 'injection heuristics after 2 full GCs, in their worker', unit: 'ms', samples: afterCollections.worker },
    );
    for (const [guard, samples] of docs.on.perGuard) rows.push({ name: `guard ${guard} on the question (documents on)`, unit: 'ms', samples });
    for (const [guard, samples] of plain.on.perGuard) rows.push({ name: `guard ${guard} on the question (documents off)`, unit: 'ms', samples });
    return rows;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
