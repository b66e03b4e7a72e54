import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { longestEventLoopGap } from '../testing/eventLoopGap.js';
import { cosineSimilarity } from './embedder.js';
import { UseLiteEmbedder } from './useLiteEmbedder.node.js';

const embedder = new UseLiteEmbedder();
afterAll(() => embedder.close());

const SOURDOUGH = 'How do I bake a loaf of sourdough bread at home?';
const RYE = 'A simple recipe for a homemade rye loaf.';
const TYRE = 'Changing a flat tyre on the motorway.';

const norm = (vector: Float32Array) => Math.hypot(...vector);
const isZero = (vector: Float32Array) => vector.every((value) => value === 0);

/** `count` paragraph-sized texts, each different. */
function paragraphs(count: number): string[] {
  return Array.from(
    { length: count },
    (_, i) =>
      `Note ${i}: the committee met to review the budget for year ${2000 + i}, discuss staffing for branch ${i % 7}, and agree a timeline for the roof repairs before winter. Several members asked for more detail on heating costs.`,
  );
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('UseLiteEmbedder', () => {
  it('names the model with its package version and gives 512-d unit vectors', async () => {
    expect(embedder.id).toMatch(/^use-lite@\d+\.\d+\.\d+$/);
    expect(embedder.dimensions).toBe(512);
    const [vector] = await embedder.embed([SOURDOUGH]);
    expect(vector).toBeInstanceOf(Float32Array);
    expect(vector!.length).toBe(512);
    expect(norm(vector!)).toBeCloseTo(1, 4);
  });

  it('puts paraphrases closer together than unrelated text', async () => {
    const [sourdough, rye, tyre] = await embedder.embed([SOURDOUGH, RYE, TYRE]);
    const related = cosineSimilarity(sourdough!, rye!);
    const unrelated = cosineSimilarity(sourdough!, tyre!);
    expect(related).toBeGreaterThan(unrelated + 0.15);
    expect(cosineSimilarity(rye!, tyre!)).toBeLessThan(related);
  });

  it('keeps the order of a batch of mixed lengths, across model calls, with blanks in between', async () => {
    const texts = paragraphs(40).map((text, i) => (i % 3 === 0 ? text.slice(0, 20 + i) : i % 5 === 0 ? '' : text));
    const together = await embedder.embed(texts);
    expect(together).toHaveLength(texts.length);
    for (const [i, text] of texts.entries()) {
      const [alone] = await embedder.embed([text]);
      if (text === '') expect(isZero(together[i]!)).toBe(true);
      else expect(cosineSimilarity(together[i]!, alone!), `text ${i}`).toBeGreaterThan(0.999);
    }
  });

  it('gives texts without words a zero vector without starting the model', async () => {
    const fresh = new UseLiteEmbedder();
    try {
      const nothing = ['', ' ', '\n\t', '...', '!!! ?', '—', '😀', '👍🏽🎉'];
      const started = performance.now();
      const vectors = await fresh.embed(nothing);
      // Starting the worker and loading the model takes about half a second; these never reach it.
      expect(performance.now() - started).toBeLessThan(250);
      expect(vectors).toHaveLength(nothing.length);
      for (const vector of vectors) expect(vector.length === 512 && isZero(vector)).toBe(true);
      // Mixed with real text, only the real text gets a vector.
      const [blank, word, punctuation] = await fresh.embed(['  ', 'bread', '?!']);
      expect(isZero(blank!) && isZero(punctuation!)).toBe(true);
      expect(norm(word!)).toBeCloseTo(1, 4);
    } finally {
      await fresh.close();
    }
  });

  it('rejects with the abort reason: already aborted, aborted while running, aborted while queued', async () => {
    const reason = new Error('user barged in');
    expect(await rejection(embedder.embed([SOURDOUGH], AbortSignal.abort(reason)))).toBe(reason);

    const running = new AbortController();
    const big = embedder.embed(paragraphs(64), running.signal);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const abortedAt = performance.now();
    running.abort(reason);
    expect(await rejection(big)).toBe(reason);
    // At once, not after the batch: 64 paragraphs take seconds; a second is far from either, even on a busy machine.
    expect(performance.now() - abortedAt).toBeLessThan(1_000);

    // A queued request is dropped; the request ahead of it still completes.
    const queued = new AbortController();
    const ahead = embedder.embed(paragraphs(20));
    const behind = embedder.embed(paragraphs(30).slice(20), queued.signal);
    queued.abort(reason);
    expect(await rejection(behind)).toBe(reason);
    expect(await ahead).toHaveLength(20);
    // And the worker still answers.
    expect(norm((await embedder.embed([TYRE]))[0]!)).toBeCloseTo(1, 4);
  });

  it('embeds 200 paragraphs while the main thread stays free, and a query overtakes them', async () => {
    await embedder.embed([RYE]); // model loaded: what is measured is the embedding alone
    let queryDoneAt = 0;
    let batchDoneAt = 0;
    let vectors: Float32Array[] = [];
    const busy = performance.eventLoopUtilization();
    const gap = await longestEventLoopGap(async () => {
      const batch = embedder.embed(paragraphs(200)).then((result) => {
        batchDoneAt = performance.now();
        vectors = result;
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const query = embedder.embed([SOURDOUGH]).then(() => (queryDoneAt = performance.now()));
      await Promise.all([batch, query]);
    });
    const utilization = performance.eventLoopUtilization(busy).utilization;
    console.log(`200 paragraphs: longest main-thread gap ${gap.toFixed(0)} ms, main event loop busy ${(utilization * 100).toFixed(1)}% of the time`);
    expect(vectors).toHaveLength(200);
    for (const vector of vectors) expect(norm(vector)).toBeCloseTo(1, 4);
    expect(new Set(vectors.map((vector) => vector[0])).size).toBeGreaterThan(150); // different texts, different vectors
    // Embedding on this thread would keep its event loop busy nearly all the time (99.9 % measured). The event loop's
    // utilization counts this thread's own work, so a machine whose cores are shared does not change it; the longest
    // gap (printed above) does depend on the load, so it is reported, not asserted.
    expect(utilization).toBeLessThan(0.2);
    expect(queryDoneAt).toBeLessThan(batchDoneAt); // it did not wait behind the 200
  });

  it('rejects outstanding requests with CANCELLED on close, and embeds again afterwards', async () => {
    const own = new UseLiteEmbedder();
    await own.embed([RYE]);
    const outstanding = rejection(own.embed(paragraphs(64)));
    await own.close();
    expect(await outstanding).toMatchObject({ code: 'CANCELLED' });
    expect(norm((await own.embed([RYE]))[0]!)).toBeCloseTo(1, 4);
    await own.close();
  });

  it('lets the process exit: after embedding without close, when closed mid-batch, and soon after a big request is aborted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'use-lite-exit-'));
    try {
      // A separate process, run by vite-node (it loads the TypeScript source like vitest does), must end on its own.
      const script = join(dir, 'embedThenEnd.mjs');
      await writeFile(
        script,
        `const { UseLiteEmbedder } = await import(${JSON.stringify(join(import.meta.dirname, 'useLiteEmbedder.node.ts'))});
const embedder = new UseLiteEmbedder();
const [vector] = await embedder.embed(['Hello there.']);
console.log('embedded', vector.length);
if (process.argv[2] === 'close-mid-batch') {
  const texts = Array.from({ length: 64 }, (_, i) => 'A sentence about the number ' + i + ' and the weather.');
  embedder.embed(texts).catch((error) => console.log('then', error.code));
  await new Promise((resolve) => setTimeout(resolve, 30));
  await embedder.close();
}
if (process.argv[2] === 'abort-big-request') {
  // ~6 s of work: dropped from the worker's queue, it must not hold the process open.
  const texts = Array.from({ length: 400 }, (_, i) => 'Paragraph ' + i + ': the committee met to review the budget, discuss staffing and agree on a timeline for the roof repairs before winter.');
  const controller = new AbortController();
  embedder.embed(texts, controller.signal).catch((error) => console.log('then', error.message));
  await new Promise((resolve) => setTimeout(resolve, 30));
  const abortedAt = performance.now();
  controller.abort(new Error('aborted'));
  process.on('exit', () => console.log('exited', Math.round(performance.now() - abortedAt), 'ms after the abort'));
}
`,
      );
      const viteNode = join(import.meta.dirname, '../../node_modules/.bin/vite-node');
      for (const scenario of ['no-close', 'close-mid-batch', 'abort-big-request']) {
        const { stdout, stderr } = await promisify(execFile)(viteNode, [script, scenario], { timeout: 30_000, cwd: dir });
        expect(stdout, scenario).toContain('embedded 512');
        if (scenario === 'close-mid-batch') expect(stdout).toContain('then CANCELLED');
        if (scenario === 'abort-big-request') {
          expect(stdout).toContain('then aborted');
          // After the model call already running (16 texts, ~0.4 s), not after all 400 (~6 s).
          expect(Number(/exited (\d+) ms/.exec(stdout)?.[1])).toBeLessThan(2500);
        }
        // TensorFlow.js's banners and warnings stay inside the worker.
        expect(stdout.split('\n').filter((line) => line !== '' && !/^(embedded|then|exited) /.test(line)), scenario).toEqual([]);
        expect(stderr, scenario).toBe('');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
