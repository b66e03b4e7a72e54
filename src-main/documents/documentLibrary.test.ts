import fs from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentEvent, DocsProgressEvent, IngestSummary } from '../../src-shared/contract/index.js';
import { silentLogger } from '../agent/agentLogger.js';
import { tempDataDir } from '../testing/agentTestSupport.js';
import { CORPUS, PARAPHRASED_QUERIES, UNRELATED_QUERIES, writeCorpus } from '../testing/documentCorpus.js';
import { writeScannedPdf, writeTextPdf } from '../testing/pdfFixture.js';
import { ChromaServer } from './chromaServer.node.js';
import { DocumentLibrary } from './documentLibrary.node.js';
import { CachedEmbedder } from './embeddingCache.node.js';
import type { Embedder } from './embedder.js';
import { UseLiteEmbedder } from './useLiteEmbedder.node.js';

/**
 * The documents feature with its real parts: a real Chroma server process, the real USE-lite embedder in its worker,
 * SQLite with FTS5, real files (txt, md, html, pdf). Nothing here is faked.
 */

/** The real USE-lite model under another id: what the library sees when the user switches embedders. */
class RenamedEmbedder implements Embedder {
  readonly dimensions: number;
  constructor(
    readonly id: string,
    private readonly inner: Embedder,
  ) {
    this.dimensions = inner.dimensions;
  }
  embed(texts: readonly string[], signal?: AbortSignal) {
    return this.inner.embed(texts, signal);
  }
  close() {
    return this.inner.close();
  }
}

function openLibrary(dataDir: string, events: AgentEvent[] = [], options: { background?: boolean; embedderId?: string } = {}): DocumentLibrary {
  const { embedderId, ...rest } = options;
  return new DocumentLibrary({
    dataDir,
    embedder: (db) => new CachedEmbedder(embedderId ? new RenamedEmbedder(embedderId, new UseLiteEmbedder()) : new UseLiteEmbedder(), db.db),
    emit: (event) => events.push(event),
    logger: silentLogger,
    chromaServer: { restartBackoff: { initialMs: 100, maxMs: 1_000 } },
    ...rest,
  });
}

async function searchSources(library: DocumentLibrary, query: string): Promise<string[]> {
  return (await library.searchNoting(query)).results.map((result) => path.basename(result.source));
}

/** Resolves with the first event that matches, or rejects at the deadline. */
function waitForEvent<T extends AgentEvent>(events: AgentEvent[], match: (event: AgentEvent) => event is T, deadlineMs = 30_000): Promise<T> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const check = () => {
      const found = events.find(match);
      if (found) return resolve(found);
      if (Date.now() - started > deadlineMs) return reject(new Error('deadline passed waiting for an event'));
      setImmediate(check);
    };
    check();
  });
}

const jobEnded = (jobId?: string) => (event: AgentEvent): event is DocsProgressEvent =>
  event.type === 'docs-progress' && event.state !== 'running' && (jobId === undefined || event.jobId === jobId);

describe('documents: ingest a corpus with near-duplicates, then search it (real Chroma, real embeddings)', () => {
  const dataDir = tempDataDir('docs-lib-');
  const corpusDir = path.join(dataDir, 'corpus');
  let library: DocumentLibrary;
  let summary: IngestSummary;
  const events: AgentEvent[] = [];

  beforeAll(async () => {
    writeCorpus(corpusDir);
    library = openLibrary(path.join(dataDir, 'profile'), events);
    summary = await library.ingest([corpusDir]).done;
  }, 120_000);
  afterAll(async () => {
    await library?.close();
  });

  it('ingests every file of the folder, with progress per file and a summary', () => {
    expect(summary.failed).toEqual([]);
    expect(summary.documents).toBe(Object.keys(CORPUS).length);
    const perFile = events.filter((event): event is DocsProgressEvent => event.type === 'docs-progress' && event.file !== undefined);
    expect(perFile.map((event) => path.basename(event.file!.source)).sort()).toEqual(Object.keys(CORPUS).sort());
    expect(perFile.at(-1)!.filesDone).toBe(Object.keys(CORPUS).length);
    expect(events.some((event) => event.type === 'docs-progress' && event.state === 'done' && event.summary?.documents === summary.documents)).toBe(true);
  });

  it('ranks the right document first for paraphrased questions, not its near-duplicate', async () => {
    for (const { query, expected } of PARAPHRASED_QUERIES) {
      const sources = await searchSources(library, query);
      expect(sources[0], `"${query}" should find ${expected} first; got ${sources.join(', ') || 'nothing'}`).toBe(expected);
    }
  });

  it('returns nothing for questions no document is about', async () => {
    for (const query of UNRELATED_QUERIES) {
      expect(await searchSources(library, query), query).toEqual([]);
    }
  });

  it('takes the top results across all documents, at most two chunks from any one', async () => {
    const results = (await library.searchNoting('bread loaf baking flour oven')).results;
    const perDocument = new Map<string, number>();
    for (const result of results) perDocument.set(result.documentId, (perDocument.get(result.documentId) ?? 0) + 1);
    expect(Math.max(...perDocument.values())).toBeLessThanOrEqual(2);
    expect(results.length).toBeLessThanOrEqual(4);
  });

  it('keeps scripts and styles of HTML pages out of the index', async () => {
    expect(library.db.keywordSearch('tracking never index this script', 10)).toEqual([]);
  });

  it('does nothing for an unchanged file and says so', async () => {
    const again = await library.ingest([corpusDir]).done;
    expect(again).toMatchObject({ documents: 0, unchanged: Object.keys(CORPUS).length, failed: [] });
  });

  it('replaces the chunks of a changed file (keyed by content, not name), and removes a deleted document everywhere', async () => {
    const file = path.join(corpusDir, 'banana-bread.md');
    const before = library.db.documentBySource(file)!;
    fs.writeFileSync(file, '# Banana bread\n\nThis recipe now uses cardamom and walnuts, baked in a ring mould for forty minutes.\n');
    const changed = await library.ingest([file]).done;
    expect(changed).toMatchObject({ documents: 1, unchanged: 0 });
    const after = library.db.documentBySource(file)!;
    expect(after.id).toBe(before.id);
    expect(after.contentHash).not.toBe(before.contentHash);
    expect(library.db.keywordSearch('cardamom walnuts', 5).map((hit) => hit.documentId)).toContain(after.id);
    expect(library.db.keywordSearch('overripe', 5)).toEqual([]);

    expect(await library.remove(file)).toBe(1);
    expect(library.db.documentBySource(file)).toBeUndefined();
    expect(library.db.keywordSearch('cardamom walnuts', 5)).toEqual([]);
    expect(await searchSources(library, 'a sweet loaf with cardamom and walnuts')).not.toContain('banana-bread.md');
  });

  it('survives the Chroma server being killed with SIGKILL: the next search still answers, the server comes back, the data is intact', async () => {
    const server = (library as unknown as { server: { pid?: number; state: string } }).server;
    const pid = server.pid;
    expect(pid).toBeTypeOf('number');
    process.kill(pid!, 'SIGKILL');
    const sources = await searchSources(library, 'how do I put the spare wheel on after a puncture');
    expect(sources[0]).toBe('flat-tyre.html');
    // The server comes back (another process) and still holds every vector.
    const deadline = Date.now() + 30_000;
    while (!(server.state === 'running' && server.pid !== pid)) {
      if (Date.now() > deadline) throw new Error(`Chroma did not come back (state ${server.state})`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const store = (library as unknown as { store: { count(): Promise<number> } }).store;
    expect(await store.count()).toBe(library.db.chunkCount());
    expect(await searchSources(library, 'which tyres grip best on snow and ice in cold weather')).toEqual(expect.arrayContaining(['winter-tyres.html']));
  });
});

describe('documents: bad files are reported by name and the rest of the folder goes on', () => {
  const dataDir = tempDataDir('docs-bad-');
  const folder = path.join(dataDir, 'mixed');
  let library: DocumentLibrary;

  beforeAll(() => {
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, 'empty.txt'), '');
    fs.writeFileSync(path.join(folder, 'junk.md'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
    fs.writeFileSync(path.join(folder, 'broken.pdf'), '%PDF-1.4\nthis is not really a pdf');
    writeScannedPdf(path.join(folder, 'scan.pdf'));
    writeTextPdf(path.join(folder, 'heat-pump.pdf'), [
      ['Heat pump maintenance', 'Clean the outdoor unit of leaves twice a year.'],
      ['Check the refrigerant pressure every spring.', 'Replace the air filter every three months.'],
    ]);
    fs.writeFileSync(path.join(folder, 'notes.txt'), 'The bicycle chain should be oiled every 300 kilometres.\n');
    library = openLibrary(path.join(dataDir, 'profile'));
  });
  afterAll(async () => {
    await library?.close();
  });

  it('ingests the good files (a text PDF included) and names each bad one with its reason', async () => {
    const summary = await library.ingest([folder]).done;
    expect(summary.documents).toBe(2);
    const reasons = Object.fromEntries(summary.failed.map((failed) => [path.basename(failed.source), failed.reason]));
    expect(Object.keys(reasons).sort()).toEqual(['broken.pdf', 'empty.txt', 'junk.md', 'scan.pdf']);
    expect(reasons['empty.txt']).toMatch(/empty\.txt.*empty/i);
    expect(reasons['junk.md']).toMatch(/junk\.md.*binary/i);
    expect(reasons['scan.pdf']).toMatch(/no text layer \(scanned\?\)/);
    expect(reasons['broken.pdf']).toMatch(/broken\.pdf/);
    expect(await searchSources(library, 'how often should the filter of the heat pump be changed')).toEqual(['heat-pump.pdf']);
  });
});

describe('documents: Cancel, restart and folder watching', () => {
  it('Cancel keeps the files finished before it whole and leaves nothing of the one in progress', async () => {
    const dataDir = tempDataDir('docs-cancel-');
    const folder = path.join(dataDir, 'many');
    fs.mkdirSync(folder);
    for (let i = 0; i < 12; i += 1) {
      const paragraphs = Array.from({ length: 40 }, (_, p) => `Paragraph ${p} of note ${i} talks about topic ${(i * 40 + p) % 97} in some detail.`);
      fs.writeFileSync(path.join(folder, `note-${String(i).padStart(2, '0')}.txt`), paragraphs.join('\n\n'));
    }
    const events: AgentEvent[] = [];
    const library = openLibrary(path.join(dataDir, 'profile'), events);
    try {
      const { jobId, done } = library.ingest([folder]);
      // Cancel while the second file is being embedded.
      await waitForEvent(events, (event): event is DocsProgressEvent => event.type === 'docs-progress' && event.filesDone >= 1 && event.currentChunks !== undefined);
      expect(library.cancel(jobId)).toBe(true);
      const summary = await done;
      const ended = await waitForEvent(events, jobEnded(jobId));
      expect(ended.state).toBe('cancelled');
      const documents = library.listDocuments();
      expect(documents.length).toBe(summary.documents);
      expect(documents.length).toBeLessThan(12);
      // Every document that is there is whole: all of its chunks, each with its vector and keyword entry.
      for (const document of documents) {
        expect(library.db.chunkIdsOf(document.id).length).toBe(document.chunks);
      }
      expect(library.db.queuedPaths()).toEqual([]);
    } finally {
      await library.close();
    }
  });

  it('a job stopped by closing the app resumes at the next start', async () => {
    const dataDir = tempDataDir('docs-resume-');
    const folder = path.join(dataDir, 'corpus');
    writeCorpus(folder);
    const profile = path.join(dataDir, 'profile');
    const events: AgentEvent[] = [];
    const first = openLibrary(profile, events);
    first.ingest([folder]);
    await waitForEvent(events, (event): event is DocsProgressEvent => event.type === 'docs-progress' && event.filesDone >= 1);
    const ingestedBeforeClosing = first.db.documentCount();
    await first.close();
    const left = Object.keys(CORPUS).length - ingestedBeforeClosing;
    expect(left).toBeGreaterThan(0);

    const laterEvents: AgentEvent[] = [];
    const second = openLibrary(profile, laterEvents, { background: true });
    try {
      const ended = await waitForEvent(laterEvents, jobEnded(), 60_000);
      expect(ended.state).toBe('done');
      expect(second.db.documentCount()).toBe(Object.keys(CORPUS).length);
      expect(second.db.queuedPaths()).toEqual([]);
    } finally {
      await second.close();
    }
  });

  it('keeps a watched folder in sync: a new file is added, a changed one replaced, a deleted one removed', async () => {
    const dataDir = tempDataDir('docs-watch-');
    const folder = path.join(dataDir, 'watched');
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'first.txt'), 'Kayaks should be rinsed with fresh water after a sea trip.\n');
    const events: AgentEvent[] = [];
    const library = openLibrary(path.join(dataDir, 'profile'), events);
    const until = async (condition: () => boolean, what: string) => {
      const deadline = Date.now() + 30_000;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`deadline passed waiting until ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    try {
      await library.ingest([folder], true).done;
      expect(library.status().watched).toEqual([folder]);
      await (library as unknown as { watcher: { ready(): Promise<void> } }).watcher.ready();

      const added = path.join(folder, 'second.md');
      fs.writeFileSync(added, '# Telescopes\n\nLet a telescope cool outside for an hour before observing planets.\n');
      await until(() => library.db.documentBySource(added) !== undefined, 'the new file is ingested');

      fs.writeFileSync(added, '# Telescopes\n\nCollimate the mirrors of a reflector before every star party.\n');
      await until(() => library.db.keywordSearch('collimate mirrors', 5).length > 0, 'the changed file is re-ingested');
      expect(library.db.keywordSearch('cool outside hour', 5)).toEqual([]);

      fs.rmSync(path.join(folder, 'first.txt'));
      await until(() => library.db.documentBySource(path.join(folder, 'first.txt')) === undefined, 'the deleted file is removed');
    } finally {
      await library.close();
    }
  });

  it('switching the embedder embeds every document again, with progress, instead of mixing vectors', async () => {
    const dataDir = tempDataDir('docs-switch-');
    const folder = path.join(dataDir, 'corpus');
    writeCorpus(folder);
    const profile = path.join(dataDir, 'profile');
    const first = openLibrary(profile);
    await first.ingest([folder]).done;
    await first.close();

    const events: AgentEvent[] = [];
    const second = openLibrary(profile, events, { background: true, embedderId: 'use-lite-renamed' });
    try {
      // Until they are embedded again, the old vectors are never compared with the new model's.
      const ended = await waitForEvent(events, jobEnded(), 60_000);
      expect(ended).toMatchObject({ state: 'done', filesDone: Object.keys(CORPUS).length });
      expect(events.some((event) => event.type === 'docs-progress' && event.currentChunks !== undefined)).toBe(true);
      expect(second.listDocuments().every((document) => document.embedder === 'use-lite-renamed')).toBe(true);
      expect(await searchSources(second, 'which tyres grip best on snow and ice in cold weather')).toEqual(['winter-tyres.html']);
    } finally {
      await second.close();
    }
  });
});

/** A TCP proxy to `port` that can start hanging: connections are then accepted and never answered (a hung server). */
async function hangableProxy(port: number) {
  const sockets = new Set<Socket>();
  let hanging = false;
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (hanging) return void client.resume();
    const upstream = connect(port, '127.0.0.1');
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** From now on nothing answers; the connections the client keeps alive are cut. */
    hang() {
      hanging = true;
      dropAll();
    },
    resume() {
      hanging = false;
      dropAll();
    },
    close: () =>
      new Promise<void>((resolve) => {
        dropAll();
        server.close(() => resolve());
      }),
  };
}

describe('documents: a Chroma that stops answering (a remote one behind a proxy that can hang)', () => {
  it('searches answer from keywords at the vector deadline, after five of them without waiting at all, with one notice; then it comes back', async () => {
    const dataDir = tempDataDir('docs-hung-');
    const chroma = new ChromaServer({ dataDir: path.join(dataDir, 'chroma'), logger: silentLogger });
    const proxy = await hangableProxy(Number(new URL((await chroma.ensureRunning()).url).port));
    const events: AgentEvent[] = [];
    const library = new DocumentLibrary({
      dataDir: path.join(dataDir, 'profile'),
      embedder: (db) => new CachedEmbedder(new UseLiteEmbedder(), db.db),
      emit: (event) => events.push(event),
      logger: silentLogger,
      remoteChroma: { url: proxy.url },
      vectorTimeoutMs: 300,
      chromaResilience: { breaker: { halfOpenAfterMs: 1_000 } },
    });
    try {
      writeCorpus(path.join(dataDir, 'corpus'));
      expect((await library.ingest([path.join(dataDir, 'corpus')]).done).failed).toEqual([]);
      const question = 'how do I put the spare wheel on after a puncture';
      expect((await library.searchNoting(question)).degraded).toBeUndefined();

      proxy.hang();
      const waits: number[] = [];
      for (let turn = 0; turn < 7; turn += 1) {
        const started = performance.now();
        const outcome = await library.searchNoting(question);
        waits.push(performance.now() - started);
        expect(outcome.degraded).toMatch(/^Documents are limited to keyword search: /);
        expect(outcome.results.map((result) => path.basename(result.source))).toContain('flat-tyre.html');
      }
      for (const wait of waits.slice(0, 5)) expect(wait).toBeGreaterThanOrEqual(290);
      for (const wait of waits.slice(5)) expect(wait).toBeLessThan(150);
      const notices = () => events.filter((event) => event.type === 'notice');
      expect(notices()).toEqual([{ type: 'notice', level: 'warning', message: expect.stringMatching(/^Documents are limited to keyword search: /) }]);
      expect(library.status().vectorStore).toMatchObject({ kind: 'remote', state: 'unreachable', message: expect.stringContaining('5 times in a row') });

      // Back: once the breaker lets a search through (its half-open delay after the last failure), the index answers.
      proxy.resume();
      const circuit = (library as unknown as { store: { circuit: { retryInMs: number } } }).store.circuit;
      expect(circuit.retryInMs).toBeGreaterThan(0);
      // Searched until the breaker lets one through (while it is open a search answers from keywords at once).
      await expect.poll(async () => (await library.searchNoting(question)).degraded, { timeout: circuit.retryInMs + 10_000, interval: 50 }).toBeUndefined();
      expect(notices().at(-1)).toEqual({ type: 'notice', level: 'info', message: 'Document search is fully back.' });
      expect(notices()).toHaveLength(2);
    } finally {
      await library.close();
      await proxy.close();
      await chroma.stop();
    }
  }, 90_000);
});
