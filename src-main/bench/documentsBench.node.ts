import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AgentEvent } from '../../src-shared/contract/index.js';
import { resolveAgentConfig, type AgentConfigOverrides } from '../agent/agentConfig.node.js';
import { silentLogger } from '../agent/agentLogger.js';
import { createAgent } from '../app/createAgent.node.js';
import { createDocumentLibrary } from '../app/documentLibraryFactory.node.js';
import type { DocumentLibrary } from '../documents/documentLibrary.node.js';
import type { BenchRow } from './benchStats.js';
import { askForBench } from './benchTurn.js';

/** Sections per generated file: each is one chunk (a heading and a paragraph). */
const SECTIONS_PER_FILE = 100;

const SUBJECTS = ['the garden', 'a bicycle', 'the kitchen', 'an old boat', 'the laptop', 'a violin', 'the greenhouse', 'a camera', 'the roof', 'an aquarium', 'the car', 'a beehive'];
const ACTIONS = ['cleaning', 'repairing', 'tuning', 'painting', 'insulating', 'oiling', 'storing', 'inspecting', 'upgrading', 'calibrating'];
const DETAILS = ['in early spring', 'after heavy rain', 'once a month', 'before a long trip', 'with a soft brush', 'using warm water', 'at low temperature', 'with two people', 'when it squeaks', 'every few years'];
const REASONS = ['so it lasts longer', 'to save money later', 'because dust builds up', 'to keep it safe', 'so nothing rusts', 'to avoid damage', 'for a better result', 'as the manual says'];

/** A deterministic pseudo-random source, so every run ingests the same text. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** `files` Markdown files of SECTIONS_PER_FILE sections each: varied, realistic sentences (one chunk per section). */
export function writeBenchNotes(folder: string, files: number): void {
  writeNotes(folder, 0, files);
}

function writeNotes(folder: string, firstFile: number, files: number): void {
  mkdirSync(folder, { recursive: true });
  for (let f = firstFile; f < firstFile + files; f += 1) {
    const random = seeded(f + 1);
    const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
    const sections = Array.from({ length: SECTIONS_PER_FILE }, (_, s) => {
      const subject = pick(SUBJECTS);
      const sentences = Array.from({ length: 4 }, () => `${pick(ACTIONS)[0]!.toUpperCase()}${pick(ACTIONS).slice(1)} ${subject} ${pick(DETAILS)} is worth it ${pick(REASONS)}.`);
      return `## Note ${f}.${s}: ${pick(ACTIONS)} ${subject}\n\n${sentences.join(' ')} Item ${f * 1000 + s} of the log.`;
    });
    writeFileSync(path.join(folder, `notes-${String(f).padStart(4, '0')}.md`), `# Household log ${f}\n\n${sections.join('\n\n')}\n`);
  }
}

/** Questions about nothing in the generated notes: no passage reaches the relevance floor. */
const UNRELATED_OPENERS = ['Who first described', 'In which century did people start studying', 'What is the history of', 'Tell me about the discovery of', 'Which country is famous for'];
const UNRELATED_TOPICS = ['black holes', 'the Silk Road trade', 'ancient Egyptian hieroglyphs', 'the migration of monarch butterflies', 'jazz music in New Orleans', 'volcanoes in Iceland', 'the Roman senate', 'penguins in Antarctica', 'the printing press', 'Mongolian throat singing'];

function questionsFor(count: number, seed: number): string[] {
  const random = seeded(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  return Array.from({ length: count }, (_, i) => `How should I go about ${pick(ACTIONS)} ${pick(SUBJECTS)} ${pick(DETAILS)}? (${i})`);
}

async function timeSearches(library: DocumentLibrary, questions: readonly string[]): Promise<number[]> {
  const samples: number[] = [];
  for (const question of questions) {
    const started = performance.now();
    await library.searchNoting(question);
    samples.push(performance.now() - started);
  }
  return samples;
}

/** Ingests and returns per-file throughput (chunks per second of that file's processing). */
async function ingestTimed(library: DocumentLibrary, folder: string): Promise<number[]> {
  const rates: number[] = [];
  let last = performance.now();
  const listener = (event: AgentEvent) => {
    if (event.type !== 'docs-progress' || !event.file) return;
    const now = performance.now();
    if (event.file.status === 'ingested' && event.file.chunks) rates.push((event.file.chunks / (now - last)) * 1000);
    last = now;
  };
  currentListener = listener;
  await library.ingest([folder]).done;
  currentListener = undefined;
  return rates;
}
let currentListener: ((event: AgentEvent) => void) | undefined;

interface TurnTimes {
  ttftMs: number[];
  retrievalMs: number[];
  withPassages: number;
}

async function measureTurns(config: AgentConfigOverrides, questions: readonly string[]): Promise<TurnTimes> {
  const agent = createAgent({ config, logger: silentLogger });
  const times: TurnTimes = { ttftMs: [], retrievalMs: [], withPassages: 0 };
  try {
    await agent.whenReady();
    // As in the app, which warms the embedder and the index at start when there are documents: one turn not measured.
    for (const [index, text] of ['Warm up: what is in my notes about the garden?', ...questions].entries()) {
      const measured = index > 0;
      const events = await askForBench(agent, text);
      const done = events.find((event) => event.type === 'done');
      if (!measured || done?.type !== 'done' || done.cached || done.timings.ttftMs === null) continue;
      times.ttftMs.push(done.timings.ttftMs);
      if (done.citations.length > 0) times.withPassages += 1;
      const start = events.find((e) => e.type === 'stage' && e.name === 'retrieval' && e.phase === 'start');
      const end = events.find((e) => e.type === 'stage' && e.name === 'retrieval' && e.phase === 'end');
      if (start?.type === 'stage' && end?.type === 'stage') times.retrievalMs.push(end.t - start.t);
    }
    return times;
  } finally {
    await agent.close();
  }
}

/**
 * Documents: ingestion throughput; hybrid-search latency (query embedding + Chroma + FTS5 + fusion) at each corpus
 * size, cold and with the query's embedding cached; and the time to first token with retrieval against the same turns
 * without documents, in the same run on the same model.
 */
/** Questions about nothing in the generated notes (no passage reaches the relevance floor), drawn with a seed. */
export function unrelatedQuestions(count: number, seed: number): string[] {
  const random = seeded(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  return Array.from({ length: count }, () => `${pick(UNRELATED_OPENERS)} ${pick(UNRELATED_TOPICS)}?`);
}

export async function runDocumentsBench(options: {
  config: AgentConfigOverrides;
  runs: number;
  chunkLevels: readonly number[];
  /** Keep the generated corpus and its index here and reuse them next time (ingestion is then only measured for new files). */
  keepDir?: string;
  log(line: string): void;
}): Promise<BenchRow[]> {
  const scratch = options.keepDir ?? mkdtempSync(path.join(os.tmpdir(), 'assistant-bench-docs-'));
  mkdirSync(scratch, { recursive: true });
  const profile = path.join(scratch, 'profile');
  const config = resolveAgentConfig({ ...options.config, dataDir: profile });
  const library = createDocumentLibrary(config, { emit: (event) => currentListener?.(event), logger: silentLogger });
  const rows: BenchRow[] = [];
  try {
    let files = 0;
    const throughput: number[] = [];
    for (const [level, chunks] of options.chunkLevels.entries()) {
      const wanted = Math.ceil(chunks / SECTIONS_PER_FILE);
      const folder = path.join(scratch, `notes-${level}`);
      // The same files each time (a kept corpus is then unchanged and costs only its hashes).
      writeNotes(folder, files, wanted - files);
      options.log(`documents: ingesting up to ${wanted * SECTIONS_PER_FILE} chunks…`);
      throughput.push(...(await ingestTimed(library, folder)));
      files = wanted;
      const total = library.db.chunkCount();
      const questions = questionsFor(options.runs * 2, 7 + level);
      await library.searchNoting('warm up the embedder and the index');
      rows.push({ name: `search at ${total} chunks (embed + hybrid)`, unit: 'ms', samples: await timeSearches(library, questions) });
      rows.push({ name: `search at ${total} chunks, query embedding cached`, unit: 'ms', samples: await timeSearches(library, questions) });
    }
    rows.unshift({ name: 'ingestion throughput', unit: 'chunks/s', samples: throughput });
  } finally {
    await library.close();
  }
  try {
    // The same turns on the same model (guards off, to isolate retrieval): with the documents, and without.
    // What retrieval itself adds is measured on questions no passage matches (the prompt is then the same); turns that
    // do get passages also pay for the model reading them (prefill), reported apart.
    const base: AgentConfigOverrides = { ...options.config, voice: { enabled: false }, guards: { enabled: false } };
    const unrelated = (seed: number) => unrelatedQuestions(options.runs, seed);
    // Answers cached by an earlier run on a kept corpus would not be generated: the conversations and cache start empty.
    for (const file of ['assistant.sqlite3', 'assistant.sqlite3-wal', 'assistant.sqlite3-shm']) rmSync(path.join(profile, file), { force: true });
    try {
      const cold = await measureTurns({ ...base, dataDir: profile }, unrelated(11));
      // The questions' embeddings are in the embedding cache already: a repeated question skips the model.
      const warmQuestions = unrelated(12);
      const warmer = createDocumentLibrary(config, { emit: () => undefined, logger: silentLogger });
      for (const question of warmQuestions) await warmer.searchNoting(question);
      await warmer.close();
      const cached = await measureTurns({ ...base, dataDir: profile }, warmQuestions);
      const matched = await measureTurns({ ...base, dataDir: profile }, questionsFor(options.runs, 99));
      const without = await measureTurns({ ...base, dataDir: path.join(scratch, 'no-docs'), documents: { enabled: false } }, unrelated(13));
      options.log(`documents: passages given in ${cold.withPassages}/${cold.ttftMs.length} unrelated and ${matched.withPassages}/${matched.ttftMs.length} related turns`);
      rows.push({ name: 'retrieval stage in a turn (nothing matched)', unit: 'ms', samples: cold.retrievalMs });
      rows.push({ name: 'retrieval stage in a turn (embedding cached)', unit: 'ms', samples: cached.retrievalMs });
      rows.push({ name: 'time to first token (documents off)', unit: 'ms', samples: without.ttftMs });
      rows.push({ name: 'time to first token (documents on, nothing matched)', unit: 'ms', samples: cold.ttftMs });
      rows.push({ name: 'time to first token (documents on, embedding cached)', unit: 'ms', samples: cached.ttftMs });
      rows.push({ name: 'time to first token (documents on, 4 passages read)', unit: 'ms', samples: matched.ttftMs });
    } catch (error) {
      // The search figures above still stand; the turn comparison needs a chat model.
      options.log(`documents: time to first token not measured: ${(error as Error).message}`);
    }
    return rows;
  } finally {
    if (!options.keepDir) rmSync(scratch, { recursive: true, force: true });
    else rmSync(path.join(scratch, 'no-docs'), { recursive: true, force: true });
  }
}
