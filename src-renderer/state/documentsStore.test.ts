import { describe, expect, it } from 'vitest';
import { AgentError, type AgentEvent, type Citation, type DocsProgressEvent, type DocsStatus, type DocumentInfo } from '../../src-shared/contract/index.js';
import { fakeHostClient, settle } from '../testing/fakeHostClient.js';
import type { HostAgentClient } from '../transport/hostConnection.js';
import { applyDocsProgress, MAX_UPLOAD_BYTES, summaryText } from './documentJobs.js';
import { createDocumentsStore, type DocumentsStoreOptions } from './documentsStore.dom.js';

const status = (overrides: Partial<DocsStatus> = {}): DocsStatus => ({
  documents: 0,
  chunks: 0,
  watched: [],
  vectorStore: { kind: 'local', state: 'idle' },
  embedder: 'use-lite',
  jobs: [],
  ...overrides,
});

/** A fake host: `docs:list` and `docs:status` answer with the test's library; other commands run the test's handler. */
function fakeHost(handle: (command: string, args: unknown) => unknown = () => ({})) {
  const library = { documents: [] as DocumentInfo[], status: status() };
  const host = fakeHostClient((command, args) => {
    if (command === 'docs:list') return { documents: structuredClone(library.documents) };
    if (command === 'docs:status') return structuredClone(library.status);
    return handle(command, args);
  });
  return { ...host, library };
}

const readBase64: DocumentsStoreOptions['readBase64'] = async (file) => Buffer.from(await file.arrayBuffer()).toString('base64');

function progress(fields: Partial<DocsProgressEvent> & Pick<DocsProgressEvent, 'state'>): DocsProgressEvent {
  return { type: 'docs-progress', jobId: 'job-1', filesTotal: 2, filesDone: 0, ...fields };
}

const doc = (source: string, overrides: Partial<DocumentInfo> = {}): DocumentInfo => ({
  id: `id-${source}`,
  source,
  format: 'markdown',
  chunks: 3,
  bytes: 1200,
  ingestedAt: 1_700_000_000_000,
  ...overrides,
});

const citation = (chunkId: string): Citation => ({ source: '/docs/bread.md', chunk: 2, chunkId, score: 0.71, snippet: 'Sourdough starts with…' });

describe('a job as its docs-progress events arrive', () => {
  it('follows the files done, the file being embedded and its chunks, and lists a failed file with its reason at once', () => {
    let job = applyDocsProgress(undefined, progress({ state: 'running' }));
    expect(job).toMatchObject({ jobId: 'job-1', state: 'running', filesTotal: 2, filesDone: 0, failed: [] });

    job = applyDocsProgress(job, progress({ state: 'running', filesDone: 1, file: { source: '/up/scan.pdf', status: 'failed', reason: 'scan.pdf has no text.' } }));
    expect(job.failed).toEqual([{ source: '/up/scan.pdf', reason: 'scan.pdf has no text.' }]);

    job = applyDocsProgress(job, progress({ state: 'running', filesDone: 1, current: '/up/bread.md', currentChunks: { done: 32, total: 90 } }));
    expect(job).toMatchObject({ current: '/up/bread.md', currentChunks: { done: 32, total: 90 } });

    // The file finished: it is no longer "current".
    job = applyDocsProgress(job, progress({ state: 'running', filesDone: 2, file: { source: '/up/bread.md', status: 'ingested', chunks: 90 } }));
    expect(job.current).toBeUndefined();
    expect(job.currentChunks).toBeUndefined();

    const summary = { documents: 1, chunks: 90, unchanged: 0, removed: 0, failed: [{ source: '/up/scan.pdf', reason: 'scan.pdf has no text.' }] };
    job = applyDocsProgress(job, progress({ state: 'done', filesDone: 2, summary }));
    expect(job).toMatchObject({ state: 'done', summary });
    expect(job.failed).toHaveLength(1);
    expect(summaryText(job.summary!)).toBe('1 document added (90 chunks), 0 unchanged, 1 failed');
  });

  it('takes failures it missed from the summary, and an ended job ignores late events', () => {
    const summary = { documents: 2, chunks: 7, unchanged: 3, removed: 0, failed: [{ source: '/a/empty.txt', reason: 'empty.txt has no text.' }] };
    const ended = applyDocsProgress(undefined, progress({ state: 'cancelled', summary, message: 'Cancelled: the documents finished before it are kept.' }));
    expect(ended.failed).toEqual([{ source: '/a/empty.txt', reason: 'empty.txt has no text.' }]);
    expect(ended.message).toBe('Cancelled: the documents finished before it are kept.');
    expect(summaryText(summary)).toBe('2 documents added (7 chunks), 3 unchanged, 1 failed');
    expect(applyDocsProgress(ended, progress({ state: 'running', current: '/a/b.md' }))).toBe(ended);
  });
});

describe('the documents store', () => {
  it('uploads dropped files one by one, shows the job from its events, and reloads the list when it ends', async () => {
    let nextJob = 1;
    const host = fakeHost((command) => (command === 'docs:upload' ? { jobId: `job-${nextJob++}` } : {}));
    const store = createDocumentsStore(host.client, { readBase64 });
    store.getState().start();
    await settle();

    await store.getState().addFiles([new File(['Sourdough bread needs a starter.'], 'bread.md'), new File([''], 'empty.txt')]);
    expect(store.getState().panelOpen).toBe(true);
    expect(host.calls('docs:upload').map((call) => call.args)).toEqual([
      { name: 'bread.md', dataBase64: Buffer.from('Sourdough bread needs a starter.').toString('base64') },
      { name: 'empty.txt', dataBase64: '' },
    ]);
    expect(store.getState().jobs.map((job) => [job.jobId, job.label, job.state])).toEqual([
      ['job-1', 'bread.md', 'queued'],
      ['job-2', 'empty.txt', 'queued'],
    ]);

    host.emit(progress({ jobId: 'job-2', state: 'running', filesTotal: 1 }));
    host.emit(progress({ jobId: 'job-2', state: 'running', filesTotal: 1, filesDone: 1, file: { source: '/data/uploads/empty.txt', status: 'failed', reason: 'empty.txt has no text.' } }));
    expect(store.getState().jobs[1]?.failed).toEqual([{ source: '/data/uploads/empty.txt', reason: 'empty.txt has no text.' }]);

    const listsBefore = host.calls('docs:list').length;
    host.library.documents = [doc('/data/uploads/bread.md')];
    host.emit(progress({ jobId: 'job-1', state: 'done', filesTotal: 1, filesDone: 1, summary: { documents: 1, chunks: 3, unchanged: 0, removed: 0, failed: [] } }));
    await settle();
    expect(host.calls('docs:list').length).toBeGreaterThan(listsBefore);
    expect(store.getState().documents?.map((each) => each.source)).toEqual(['/data/uploads/bread.md']);
    expect(store.getState().jobs[0]).toMatchObject({ state: 'done', label: 'bread.md' });
  });

  it('keeps one job when its events overtake the upload result', async () => {
    const host = fakeHost();
    const store = createDocumentsStore(host.client, { readBase64 });
    // The agent starts the job (and sends its first event) before the call's answer arrives.
    host.client.call = (async (command: string) => {
      if (command === 'docs:upload') {
        host.emit(progress({ jobId: 'early', state: 'running', filesTotal: 1 }));
        return { jobId: 'early' };
      }
      return command === 'docs:list' ? { documents: [] } : status();
    }) as HostAgentClient['call'];
    store.getState().start();
    await store.getState().addFiles([new File(['text'], 'notes.txt')]);
    expect(store.getState().jobs).toEqual([expect.objectContaining({ key: 'early', jobId: 'early', label: 'notes.txt', state: 'running' })]);
  });

  it('refuses a file too big to upload, naming it, and still sends the others', async () => {
    const host = fakeHost(() => ({ jobId: 'job-1' }));
    const store = createDocumentsStore(host.client, { readBase64 });
    const big = { name: 'huge-scan.pdf', size: 40 * 1024 * 1024 } as File;
    expect(MAX_UPLOAD_BYTES).toBe(22_500_000);
    await store.getState().addFiles([big, new File(['ok'], 'small.txt')]);
    expect(store.getState().messages.map((each) => each.message)).toEqual(['huge-scan.pdf is too big to add here: 40 MB, and at most 21 MB can be sent from a browser.']);
    expect(host.calls('docs:upload').map((call) => (call.args as { name: string }).name)).toEqual(['small.txt']);
  });

  it('sends files that have paths (the desktop app) to docs:ingest in one job, folders kept in sync when asked', async () => {
    let nextJob = 1;
    const host = fakeHost(() => ({ jobId: `job-${nextJob++}` }));
    const paths = new Map<string, string>([['bread.md', '/home/me/bread.md'], ['recipes', '/home/me/recipes']]);
    const store = createDocumentsStore(host.client, { readBase64, pathForFile: (file) => paths.get(file.name) ?? null });
    expect(store.getState().usesPaths).toBe(true);
    store.getState().setWatchFolders(true);
    await store.getState().addFiles([new File(['x'], 'bread.md'), new File([], 'recipes'), new File(['y'], 'from-a-browser.txt')]);
    expect(host.calls('docs:ingest').map((call) => call.args)).toEqual([{ paths: ['/home/me/bread.md', '/home/me/recipes'], watch: true }]);
    // A file without a path (dragged from a web page) is uploaded.
    expect(host.calls('docs:upload')).toHaveLength(1);
    expect(store.getState().jobs[0]?.label).toBe('2 files');
  });

  it('says why an upload was refused, and takes the placeholder away', async () => {
    const host = fakeHost(() => {
      throw new AgentError('NOT_FOUND', 'Documents are turned off for this session (ASSISTANT_DOCUMENTS=off).');
    });
    const store = createDocumentsStore(host.client, { readBase64 });
    await store.getState().addFiles([new File(['x'], 'bread.md')]);
    expect(store.getState().jobs).toEqual([]);
    expect(store.getState().messages.map((each) => each.message)).toEqual(['bread.md was not added: Documents are turned off for this session (ASSISTANT_DOCUMENTS=off).']);
  });

  it('cancels a running job; the view follows its cancelled event', async () => {
    const host = fakeHost((command) => (command === 'docs:cancel' ? { cancelled: true } : {}));
    const store = createDocumentsStore(host.client, { readBase64 });
    store.getState().start();
    host.emit(progress({ state: 'running', filesTotal: 3, filesDone: 1 }));
    await store.getState().cancel('job-1');
    expect(host.calls('docs:cancel').map((call) => call.args)).toEqual([{ jobId: 'job-1' }]);
    expect(store.getState().cancelling).toEqual({ 'job-1': true });
    host.emit(progress({ state: 'cancelled', filesTotal: 3, filesDone: 1, summary: { documents: 1, chunks: 4, unchanged: 0, removed: 0, failed: [] }, message: 'Cancelled.' }));
    expect(store.getState().cancelling).toEqual({});
    expect(store.getState().jobs[0]?.state).toBe('cancelled');
  });

  it('keeps each answer’s citations by turn, apart from its text, and opens one (or says why it cannot)', async () => {
    const host = fakeHost((command, args) => {
      if (command !== 'docs:chunk') return {};
      if ((args as { chunkId: string }).chunkId === 'gone') throw new AgentError('NOT_FOUND', 'That passage is no longer in your documents.');
      return { source: '/docs/bread.md', chunk: 2, headingPath: ['Bread', 'Sourdough'], text: 'Feed the starter the night before.' };
    });
    const store = createDocumentsStore(host.client, { readBase64 });
    store.getState().start();
    const done = { type: 'done', conversationId: 'c1', text: 'Once upon a time', cached: false, interrupted: false, provider: 'embedded', model: 'm', timings: { totalMs: 1, ttftMs: null, tokensPerSecond: null, tokens: 0 } } as const;
    host.emit({ ...done, turnId: 't1', citations: [citation('live')] } as AgentEvent);
    host.emit({ ...done, turnId: 't2', citations: [] } as AgentEvent);
    expect(store.getState().citations).toEqual({ t1: [citation('live')] });

    await store.getState().openCitationOf(citation('live'));
    expect(store.getState().openCitation).toEqual({
      citation: citation('live'),
      chunk: { source: '/docs/bread.md', chunk: 2, headingPath: ['Bread', 'Sourdough'], text: 'Feed the starter the night before.' },
      error: null,
    });
    await store.getState().openCitationOf(citation('gone'));
    expect(store.getState().openCitation).toMatchObject({ chunk: null, error: 'That passage is no longer in your documents.' });
    store.getState().closeCitation();
    expect(store.getState().openCitation).toBeNull();
  });

  it('removes a document or a watched folder and reloads the list; a failed remove says why', async () => {
    const host = fakeHost((command, args) => {
      if (command === 'docs:remove' && (args as { target: string }).target === 'missing') throw new AgentError('NOT_FOUND', 'No ingested document is missing.');
      host.library.documents = [];
      host.library.status = status({ watched: [] });
      return { removed: 1 };
    });
    host.library.documents = [doc('/home/me/notes/a.md')];
    host.library.status = status({ documents: 1, watched: ['/home/me/notes'] });
    const store = createDocumentsStore(host.client, { readBase64 });
    store.getState().start();
    await settle();
    expect(store.getState().status?.watched).toEqual(['/home/me/notes']);

    await store.getState().remove('/home/me/notes');
    expect(host.calls('docs:remove').map((call) => call.args)).toEqual([{ target: '/home/me/notes' }]);
    expect(store.getState().documents).toEqual([]);
    expect(store.getState().status?.watched).toEqual([]);

    await store.getState().remove('missing');
    expect(store.getState().messages.map((each) => each.message)).toEqual(['No ingested document is missing.']);
    expect(store.getState().removing).toEqual({});
  });

  it('after a dropped connection, forgets jobs it saw running and shows the ones the agent still runs', async () => {
    const host = fakeHost();
    const store = createDocumentsStore(host.client, { readBase64 });
    store.getState().start();
    host.emit(progress({ jobId: 'finished-meanwhile', state: 'running' }));
    host.connection('closed');
    host.library.status = status({ jobs: [{ jobId: 'still-going', filesTotal: 4, filesDone: 2 }] });
    host.connection('open');
    await settle();
    expect(store.getState().jobs.map((job) => [job.jobId, job.state, job.filesDone, job.filesTotal])).toEqual([['still-going', 'running', 2, 4]]);
  });
});
