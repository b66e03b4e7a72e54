import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AgentEvent, CouncilRequest } from '../../src-shared/contract/index.js';
import type { AgentConfigOverrides } from '../agent/agentConfig.node.js';
import { silentLogger } from '../agent/agentLogger.js';
import type { AgentService } from '../agent/agentService.js';
import { createAgent } from '../app/createAgent.node.js';
import type { BenchRow } from './benchStats.js';

/**
 * The council against one model, in the same run on the same questions: the chat model three times (each member with
 * its own seed) and as the chairman, against the chat model alone. Each run asks one question of both, back to back
 * (council first, then the single model), so drift on a busy machine affects both alike. Times are from the question.
 */

export const COUNCIL_FIRST_PIECE = 'council: first visible piece (first answer)';
export const COUNCIL_FIRST_TOKEN = 'council: stage 3, first token of the answer';
export const COUNCIL_TOTAL = 'council: total (done)';
export const SINGLE_FIRST_TOKEN = 'single model: first token';
export const SINGLE_TOTAL = 'single model: total (done)';

const QUESTIONS = ['Once upon a time there was a little robot', 'Why is the sky blue', 'Tell me a story about a cat and a dog'];

/** The chat model ×3, each with its own seed, and the chat model as chairman (the council's defaults). */
const COUNCIL: CouncilRequest = {};

interface TimedEvent {
  event: AgentEvent;
  /** ms since the question was sent. */
  at: number;
}

/** Asks one question (of the council when `council` is given) and resolves with its events, each with its time. */
async function askTimed(agent: AgentService, text: string, council?: CouncilRequest): Promise<TimedEvent[]> {
  const seen: TimedEvent[] = [];
  let turnId: string | undefined;
  const early: TimedEvent[] = [];
  const sentAt = performance.now();
  return new Promise<TimedEvent[]>((resolve, reject) => {
    const stop = agent.listen((event) => {
      const timed = { event, at: performance.now() - sentAt };
      if (turnId === undefined) {
        early.push(timed);
        return;
      }
      if (!('turnId' in event) || event.turnId !== turnId) return;
      seen.push(timed);
      if (event.type === 'done') (stop(), resolve(seen));
      if (event.type === 'error') (stop(), reject(new Error(event.message)));
      if (event.type === 'blocked') (stop(), reject(new Error(`refused by the ${event.guard} guard: ${event.reason}`)));
    });
    agent.call('chat:send', council ? { text, council } : { text }).then(
      (started) => {
        turnId = started.turnId;
        // Events of the turn that arrived before its id (none should: the id comes first).
        for (const timed of early) if ('turnId' in timed.event && timed.event.turnId === turnId) seen.push(timed);
      },
      (error: unknown) => (stop(), reject(error)),
    );
  });
}

interface CouncilReading {
  firstPiece: number;
  stage1: number;
  aggregate: number;
  firstToken: number;
  total: number;
  answerMs: number[];
  rankingMs: number[];
  method: string;
  usableRankings: number;
}

function readCouncil(events: TimedEvent[]): CouncilReading {
  const council = events.filter((timed) => timed.event.type === 'council');
  const of = (kind: string) => council.filter((timed) => timed.event.type === 'council' && timed.event.kind === kind);
  const answers = of('answer');
  const stageOne = council.filter((timed) => timed.event.type === 'council' && timed.event.stage === 1);
  const aggregate = of('aggregate')[0];
  const firstToken = events.find((timed) => timed.event.type === 'token');
  const done = events.find((timed) => timed.event.type === 'done');
  if (answers.length === 0 || !firstToken || !done) throw new Error('the council turn gave no answer, first token or done event');
  const ms = (timed: TimedEvent) => (timed.event.type === 'council' ? (timed.event.ms ?? 0) : 0);
  const aggregateEvent = aggregate?.event.type === 'council' ? aggregate.event : undefined;
  return {
    firstPiece: answers[0]!.at,
    stage1: stageOne.at(-1)!.at,
    // A council left with one member has no stage 2: its "aggregate" is then when stage 1 ended.
    aggregate: aggregate?.at ?? stageOne.at(-1)!.at,
    firstToken: firstToken.at,
    total: done.at,
    answerMs: answers.map(ms),
    rankingMs: of('ranking').filter((timed) => timed.event.type === 'council' && timed.event.usable !== undefined && !timed.event.reason?.startsWith('cancelled')).map(ms),
    method: aggregateEvent?.method ?? 'none',
    usableRankings: aggregateEvent?.rankingsUsed ?? 0,
  };
}

function readSingle(events: TimedEvent[]): { firstToken: number; total: number } {
  const firstToken = events.find((timed) => timed.event.type === 'token');
  const done = events.find((timed) => timed.event.type === 'done');
  if (!firstToken || !done) throw new Error('the single-model turn gave no first token or done event');
  return { firstToken: firstToken.at, total: done.at };
}

export async function runCouncilBench(options: { config: AgentConfigOverrides; runs: number; log(line: string): void }): Promise<BenchRow[]> {
  const { config, runs, log } = options;
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'assistant-bench-council-'));
  const agent = createAgent({ config: { ...config, dataDir: scratch, voice: { ...config.voice, enabled: false } }, logger: silentLogger });
  try {
    await agent.whenReady();
    await agent.whenGuardsWarm();
    // Untimed: the first turn of each kind warms what is lazily made (the embedder of the agreement fallback included).
    await askTimed(agent, 'Hello there', COUNCIL);
    await askTimed(agent, 'Hello there, again');

    const readings: CouncilReading[] = [];
    const singles: Array<{ firstToken: number; total: number }> = [];
    for (let i = 0; i < runs; i++) {
      // A new wording each run: the single model's answer would otherwise come from the response cache.
      const question = `${QUESTIONS[i % QUESTIONS.length]!} (${i})`;
      readings.push(readCouncil(await askTimed(agent, question, COUNCIL)));
      singles.push(readSingle(await askTimed(agent, question)));
    }
    const methods = new Map<string, number>();
    for (const reading of readings) methods.set(reading.method, (methods.get(reading.method) ?? 0) + 1);
    log(
      `council: ${runs} councils of 3 members; aggregation ${[...methods].map(([method, n]) => `${method} ×${n}`).join(', ')}; ` +
        `usable rankings ${readings.reduce((sum, r) => sum + r.usableRankings, 0)} of ${runs * 3}`,
    );
    return [
      { name: COUNCIL_FIRST_PIECE, unit: 'ms', samples: readings.map((r) => r.firstPiece) },
      { name: 'council: stage 1, all answers in', unit: 'ms', samples: readings.map((r) => r.stage1) },
      { name: 'council: stage 2, aggregate', unit: 'ms', samples: readings.map((r) => r.aggregate) },
      { name: COUNCIL_FIRST_TOKEN, unit: 'ms', samples: readings.map((r) => r.firstToken) },
      { name: COUNCIL_TOTAL, unit: 'ms', samples: readings.map((r) => r.total) },
      { name: 'council: stage 2 alone (answers in → aggregate)', unit: 'ms', samples: readings.map((r) => r.aggregate - r.stage1) },
      { name: 'council: stage 3 alone (aggregate → done)', unit: 'ms', samples: readings.map((r) => r.total - r.aggregate) },
      { name: 'council: one member’s answer (stage 1)', unit: 'ms', samples: readings.flatMap((r) => r.answerMs) },
      { name: 'council: one member’s ranking (stage 2)', unit: 'ms', samples: readings.flatMap((r) => r.rankingMs) },
      { name: SINGLE_FIRST_TOKEN, unit: 'ms', samples: singles.map((s) => s.firstToken) },
      { name: SINGLE_TOTAL, unit: 'ms', samples: singles.map((s) => s.total) },
    ];
  } finally {
    await agent.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}
