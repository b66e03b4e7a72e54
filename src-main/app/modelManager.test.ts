import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AgentEvent, type AgentStatus, type ModelProgressEvent } from '../../src-shared/contract/index.js';
import type { AgentConfigOverrides } from '../agent/agentConfig.node.js';
import type { FileModelEntry } from '../models/modelManifest.js';
import { sharedModelsDir } from '../models/projectPaths.node.js';
import { collectTurnEvents, TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';
import { OllamaProtocolServer } from '../testing/ollamaProtocolServer.node.js';
import { startRangeFileServer, type RangeFileServer } from '../testing/rangeFileServer.node.js';
import { createAgent, type Agent } from './createAgent.node.js';
import { closedPort } from '../testing/closedPort.node.js';

/**
 * The models backend on the real agent: a test manifest (ASSISTANT_MODELS_MANIFEST) whose default chat model is the
 * real stories260K.gguf, served over HTTP with Range support by a local server; downloads land in a temporary models
 * dir (ASSISTANT_MODELS_DIR). The model runtime is real node-llama-cpp.
 */

const modelBytes = readFileSync(TEST_LLM_MODEL);
const sha256 = createHash('sha256').update(modelBytes).digest('hex');
const workDir = tempDataDir('models-backend-');
const modelsDir = path.join(workDir, 'models');

function entry(id: string, url: string, extra: Partial<FileModelEntry> = {}): FileModelEntry {
  return {
    id,
    role: 'llm',
    file: `llm/${id}.gguf`,
    url,
    sizeBytes: modelBytes.length,
    sha256,
    license: 'MIT',
    description: `${id}: stories260K served by the test's HTTP server.`,
    ...extra,
  };
}


/** Every event of the agent, and waits for the ones a test is after. */
function recorder(agent: Agent) {
  const events: AgentEvent[] = [];
  const waiters = new Set<() => void>();
  agent.listen((event) => {
    // Every event is what the contract says it is (the UI validates them the same way).
    events.push(AgentEvent.parse(event));
    for (const wake of waiters) wake();
  });
  const progressOf = (id: string) => events.filter((event): event is ModelProgressEvent => event.type === 'model-progress' && event.id === id);
  const until = <T>(find: () => T | undefined, timeoutMs = 30_000): Promise<T> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found === undefined) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out; events: ${JSON.stringify(events.slice(-8))}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return {
    events,
    progressOf,
    until,
    /** The pull's last event (done, failed or cancelled). */
    finished: (id: string) => until(() => progressOf(id).find((event) => ['done', 'failed', 'cancelled'].includes(event.state))),
    firstBytes: (id: string) => until(() => progressOf(id).find((event) => event.state === 'downloading' && event.receivedBytes > 0)),
    warm: (model: string) =>
      until(() =>
        events.find((event): event is { type: 'status'; status: AgentStatus } => event.type === 'status' && event.status.llm.state === 'warm' && event.status.llm.model === model),
      ),
  };
}

async function ask(agent: Agent, text: string) {
  const turns = collectTurnEvents(agent);
  const { turnId } = await agent.call('chat:send', { text });
  return turns.forTurn(turnId);
}

/**
 * An embedding model is a folder of files: small real files, each served by its own Range server (a config and a
 * tokenizer config written here, the real Silero VAD model standing in for tokenizer.json, the real stories260K.gguf
 * for the ONNX weights). Each entry asks with its own query string, so the requests of one pull can be told apart.
 */
const embedFiles: Record<string, Buffer> = {
  'config.json': Buffer.from(JSON.stringify({ model_type: 'bert', hidden_size: 384, num_hidden_layers: 6 })),
  'tokenizer_config.json': Buffer.from(JSON.stringify({ do_lower_case: true, model_max_length: 512 })),
  'tokenizer.json': readFileSync(path.join(sharedModelsDir(), 'vad', 'silero-v6.2.0-ggml.bin')),
  'onnx/model_quantized.onnx': modelBytes,
};
const embedPaths = Object.keys(embedFiles);
const embedBytes = Object.values(embedFiles).reduce((sum, bytes) => sum + bytes.length, 0);
const bytesBeforeWeights = embedBytes - modelBytes.length;
/** What each server sends: a test may change it in place (same length) to corrupt a file and repair it again. */
const embedServed = Object.fromEntries(embedPaths.map((file) => [file, Buffer.from(embedFiles[file]!)]));

function embedEntry(id: string, urlOf: (file: string) => string) {
  return {
    id,
    role: 'embedding',
    folder: `embeddings/${id}`,
    files: embedPaths.map((file) => ({ path: file, url: urlOf(file), sizeBytes: embedFiles[file]!.length, sha256: createHash('sha256').update(embedFiles[file]!).digest('hex') })),
    license: 'Apache-2.0',
    description: `${id}: a folder of files served by the test's HTTP servers.`,
  };
}

describe('models backend (real agent, real GGUF over a local HTTP server)', () => {
  let server: RangeFileServer;
  let offlineUrl: string;
  const embedServers: Record<string, RangeFileServer> = {};
  const embedRequests = (id: string) => Object.fromEntries(embedPaths.map((file) => [file, embedServers[file]!.requests.filter((request) => request.url.endsWith(`?${id}`))]));
  const dataDir = path.join(workDir, 'data');
  const config: AgentConfigOverrides = { dataDir, voice: { enabled: false }, llm: { provider: 'embedded', threads: 1 }, maxAnswerTokens: 24 };
  const agents: Agent[] = [];
  const start = () => {
    const agent = createAgent({ config });
    agents.push(agent);
    return agent;
  };

  beforeAll(async () => {
    server = await startRangeFileServer(modelBytes, 'stories.gguf');
    offlineUrl = `http://127.0.0.1:${await closedPort()}/stories.gguf`;
    for (const file of embedPaths) embedServers[file] = await startRangeFileServer(embedServed[file]!, path.basename(file));
    const embedUrl = (id: string) => (file: string) => `${embedServers[file]!.url}?${id}`;
    const manifestFile = path.join(workDir, 'test-manifest.json');
    writeFileSync(
      manifestFile,
      JSON.stringify([
        entry('test-chat', server.url, { default: true }),
        entry('test-resume', `${server.url}?resume`),
        entry('test-offline', offlineUrl),
        entry('test-shared-a', `${server.url}?shared-a`, { file: 'llm/test-shared.gguf' }),
        entry('test-shared-b', `${server.url}?shared-b`, { file: 'llm/test-shared.gguf' }),
        { ...entry('test-whisper', `${server.url}?whisper`), role: 'stt-whisper', file: 'whisper/test-whisper.bin' },
        embedEntry('test-embed', embedUrl('test-embed')),
        embedEntry('test-embed-bad', embedUrl('test-embed-bad')),
        embedEntry('test-embed-resume', embedUrl('test-embed-resume')),
        embedEntry('test-embed-offline', (file) => `${new URL(offlineUrl).origin}/${file}`),
      ]),
    );
    vi.stubEnv('ASSISTANT_MODELS_MANIFEST', manifestFile);
    vi.stubEnv('ASSISTANT_MODELS_DIR', modelsDir);
    vi.stubEnv('ASSISTANT_LLM_MODEL', '');
    vi.stubEnv('OLLAMA_HOST', `http://127.0.0.1:${await closedPort()}`);
  });
  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.close()));
    await server.close();
    await Promise.all(Object.values(embedServers).map((each) => each.close()));
    vi.unstubAllEnvs();
  });

  it('first run: the missing default model is named in the status; pull shows progress, then it loads and answers, no restart', async () => {
    const agent = start();
    const events = recorder(agent);
    await agent.whenReady();
    const status = await agent.call('agent:status');
    expect(status.llm).toMatchObject({ state: 'missing', missingModelId: 'test-chat' });

    const catalog = await agent.call('models:list');
    expect(catalog.modelsDir).toBe(modelsDir);
    expect(catalog.ollama.reachable).toBe(false);
    expect(catalog.models.find((model) => model.id === 'test-chat')).toMatchObject({
      state: 'missing',
      source: 'user-manifest',
      isDefault: true,
      sizeBytes: modelBytes.length,
      license: 'MIT',
      path: path.join(modelsDir, 'llm', 'test-chat.gguf'),
    });
    // The built-in test-only model is not offered; the built-in chat model is, no longer as the default.
    expect(catalog.models.map((model) => model.id)).not.toContain('stories260k');
    expect(catalog.models.find((model) => model.id === 'qwen2.5-0.5b-instruct')).toMatchObject({ source: 'manifest', isDefault: false });

    server.behaviour = { chunkDelayMs: 40 };
    const startedAt = performance.now();
    expect(await agent.call('models:pull', { id: 'test-chat' })).toEqual({ started: true });
    const done = await events.finished('test-chat');
    const seconds = (performance.now() - startedAt) / 1000;
    server.behaviour = {};
    expect(done).toMatchObject({ state: 'done', receivedBytes: modelBytes.length, totalBytes: modelBytes.length });
    const progress = events.progressOf('test-chat');
    const downloading = progress.filter((event) => event.state === 'downloading');
    expect(downloading.length).toBeGreaterThan(1);
    expect(downloading.some((event) => event.receivedBytes > 0 && event.receivedBytes < modelBytes.length && event.bytesPerSecond > 0)).toBe(true);
    // Throttled: about 5 a second (plus the state changes), not one per 64 KiB chunk.
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(seconds * 5) + 4);
    expect(progress.length).toBeLessThan(Math.ceil(modelBytes.length / 65_536));
    expect(progress.map((event) => event.state)).toContain('verifying');

    const warm = await events.warm('test-chat.gguf');
    expect(warm.status.llm.provider).toBe('embedded');
    const turn = await ask(agent, 'Once upon a time');
    expect(turn.error).toBeUndefined();
    expect(turn.done).toMatchObject({ provider: 'embedded', model: 'test-chat.gguf' });
    expect(turn.done!.text.length).toBeGreaterThan(0);
    expect((await agent.call('models:list')).models.find((model) => model.id === 'test-chat')?.state).toBe('active');
    expect(events.events.filter((event) => event.type === 'error')).toEqual([]);
  });

  it('the active model cannot be deleted (MODEL_IN_USE); an unknown id is NOT_FOUND with the known ids', async () => {
    const agent = agents[0]!;
    await expect(agent.call('models:delete', { id: 'test-chat' })).rejects.toMatchObject({ code: 'MODEL_IN_USE' });
    expect(existsSync(path.join(modelsDir, 'llm', 'test-chat.gguf'))).toBe(true);
    await expect(agent.call('models:pull', { id: 'no-such-model' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/Unknown model "no-such-model"\. Known models: .*test-chat.*test-resume/),
    });
  });

  it('cancel keeps the partial file; a second pull meanwhile is ALREADY_DOWNLOADING; the next pull resumes with a Range request', async () => {
    const agent = agents[0]!;
    const events = recorder(agent);
    server.behaviour = { chunkDelayMs: 60 };
    await agent.call('models:pull', { id: 'test-resume' });
    await events.firstBytes('test-resume');
    await expect(agent.call('models:pull', { id: 'test-resume' })).rejects.toMatchObject({ code: 'ALREADY_DOWNLOADING' });
    expect(await agent.call('models:cancel', { id: 'test-resume' })).toEqual({ cancelled: true });
    expect((await events.finished('test-resume')).state).toBe('cancelled');
    const partial = path.join(modelsDir, 'llm', 'test-resume.gguf.partial');
    const kept = statSync(partial).size;
    expect(kept).toBeGreaterThan(0);
    const listed = (await agent.call('models:list')).models.find((model) => model.id === 'test-resume');
    expect(listed).toMatchObject({ state: 'missing', receivedBytes: kept });

    server.behaviour = {};
    const requestsBefore = server.requests.length;
    const again = recorder(agent);
    await agent.call('models:pull', { id: 'test-resume' });
    expect((await again.finished('test-resume')).state).toBe('done');
    expect(server.requests.slice(requestsBefore)).toEqual([expect.objectContaining({ range: `bytes=${kept}-`, status: 206 })]);
    expect(statSync(path.join(modelsDir, 'llm', 'test-resume.gguf')).size).toBe(modelBytes.length);
    // Another chat model was already answering: a download does not switch it.
    expect((await agent.call('agent:status')).llm.model).toBe('test-chat.gguf');
    expect(await agent.call('models:delete', { id: 'test-resume' })).toEqual({ deleted: true });
    expect((await agent.call('models:list')).models.find((model) => model.id === 'test-resume')?.state).toBe('missing');
  });

  it('two ids sharing one file: the second pull is refused (already being downloaded) and the first finishes intact', async () => {
    const agent = agents[0]!;
    const events = recorder(agent);
    server.behaviour = { chunkDelayMs: 40 };
    await agent.call('models:pull', { id: 'test-shared-a' });
    await events.firstBytes('test-shared-a');
    await agent.call('models:pull', { id: 'test-shared-b' });
    const refused = await events.finished('test-shared-b');
    expect(refused).toMatchObject({ state: 'failed', message: `test-shared.gguf is already being downloaded (by process ${process.pid}); it resumes when that one stops.` });
    server.behaviour = {};
    expect((await events.finished('test-shared-a')).state).toBe('done');
    const file = path.join(modelsDir, 'llm', 'test-shared.gguf');
    expect(readFileSync(file).equals(modelBytes)).toBe(true);
    expect(existsSync(`${file}.rejected`)).toBe(false);
    expect(existsSync(`${file}.partial.lock`)).toBe(false);
    expect(await agent.call('models:delete', { id: 'test-shared-a' })).toEqual({ deleted: true });
  });

  it('offline: the pull fails at once with one short sentence, sent once, and no error event', async () => {
    const agent = agents[0]!;
    const events = recorder(agent);
    const startedAt = performance.now();
    await agent.call('models:pull', { id: 'test-offline' });
    const failed = await events.finished('test-offline');
    expect(performance.now() - startedAt).toBeLessThan(2_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events.progressOf('test-offline')).toEqual([failed]);
    expect(failed.state).toBe('failed');
    const folder = path.join(modelsDir, 'llm');
    expect(failed.message).toBe(`No connection to ${new URL(offlineUrl).host}: copy test-offline.gguf to ${folder}, or choose a model file.`);
    expect(events.events.filter((event) => event.type === 'error' || event.type === 'notice')).toEqual([]);
  });

  it('models:use with a path that is not a GGUF is refused clearly and the model in use stays', async () => {
    const agent = agents[0]!;
    const text = path.join(workDir, 'notes.txt');
    writeFileSync(text, 'not a model');
    const fakeGguf = path.join(workDir, 'fake.gguf');
    writeFileSync(fakeGguf, 'GGUF but not really a model at all');
    // A failed attempt must not flash an error on every client's status badge: the model in use is fine.
    const statuses: string[] = [];
    const stopWatching = agent.listen((event) => event.type === 'status' && statuses.push(event.status.llm.state));
    await expect(agent.call('models:use', { path: text })).rejects.toMatchObject({
      code: expect.stringMatching(/^MODEL_(CORRUPT|MISSING)$/),
      message: expect.stringContaining(text),
    });
    await expect(agent.call('models:use', { path: fakeGguf })).rejects.toMatchObject({
      code: 'MODEL_CORRUPT',
      message: expect.stringContaining(`${fakeGguf} is not a usable GGUF model`),
    });
    await expect(agent.call('models:use', { path: path.join(workDir, 'nowhere.gguf') })).rejects.toMatchObject({ code: 'MODEL_MISSING' });
    expect((await agent.call('agent:status')).llm).toMatchObject({ state: 'warm', model: 'test-chat.gguf' });
    stopWatching();
    expect(statuses).not.toContain('error');
    expect(statuses).not.toContain('missing');
    expect((await ask(agent, 'The cat')).done?.model).toBe('test-chat.gguf');
  });

  it('models:use switches the chat model at runtime (status follows, new turns use it) and the choice survives a restart', async () => {
    const agent = agents[0]!;
    const events = recorder(agent);
    const other = path.join(workDir, 'other-model.gguf');
    copyFileSync(TEST_LLM_MODEL, other);
    expect(await agent.call('models:use', { path: other })).toEqual({ role: 'llm', model: 'other-model.gguf' });
    const statuses = events.events.flatMap((event) => (event.type === 'status' ? [event.status.llm] : []));
    expect(statuses.map((status) => `${status.state}:${status.model}`)).toEqual(['loading:other-model.gguf', 'warm:other-model.gguf']);
    expect((await ask(agent, 'Once upon a time')).done?.model).toBe('other-model.gguf');
    const catalog = await agent.call('models:list');
    expect(catalog.models.find((model) => model.source === 'file')).toMatchObject({ id: 'other-model.gguf', state: 'active', path: other });
    expect(catalog.models.find((model) => model.id === 'test-chat')?.state).toBe('ready');
    expect((await agent.call('settings:get')).saved).toMatchObject({ llmProvider: 'embedded', llmModel: other });
    // Pulling a model that is already there fetches nothing and says it is done.
    const requestsBefore = server.requests.length;
    expect(await agent.call('models:pull', { id: 'test-chat' })).toEqual({ started: false });
    expect(events.progressOf('test-chat').at(-1)).toMatchObject({ state: 'done', receivedBytes: modelBytes.length });
    expect(server.requests.length).toBe(requestsBefore);

    expect(await agent.call('models:use', { id: 'test-chat' })).toEqual({ role: 'llm', model: 'test-chat.gguf' });
    expect((await ask(agent, 'Once upon a time there was')).done?.model).toBe('test-chat.gguf');
    expect((await agent.call('settings:get')).saved.llmModel).toBe('test-chat');

    await agent.call('models:use', { path: other });
    await agent.close();
    const restarted = start();
    await restarted.whenReady();
    expect((await restarted.call('agent:status')).llm).toMatchObject({ state: 'warm', model: 'other-model.gguf' });
  });

  it('a download interrupted by closing the app resumes after a restart', async () => {
    const first = agents.at(-1)!;
    const events = recorder(first);
    await first.call('models:delete', { id: 'test-chat' });
    server.behaviour = { chunkDelayMs: 60 };
    await first.call('models:pull', { id: 'test-chat' });
    await events.firstBytes('test-chat');
    await first.close();
    const kept = statSync(path.join(modelsDir, 'llm', 'test-chat.gguf.partial')).size;
    expect(kept).toBeGreaterThan(0);

    server.behaviour = {};
    const second = start();
    const again = recorder(second);
    expect((await second.call('models:list')).models.find((model) => model.id === 'test-chat')).toMatchObject({ state: 'missing', receivedBytes: kept });
    const requestsBefore = server.requests.length;
    await second.call('models:pull', { id: 'test-chat' });
    expect((await again.finished('test-chat')).state).toBe('done');
    expect(server.requests[requestsBefore]?.range).toBe(`bytes=${kept}-`);
  });

  it('models:use of a Whisper model keeps it for voice; one not downloaded is MODEL_MISSING', async () => {
    const agent = agents.at(-1)!;
    await expect(agent.call('models:use', { id: 'test-whisper' })).rejects.toMatchObject({ code: 'MODEL_MISSING', message: expect.stringContaining('test-whisper.bin') });
    mkdirSync(path.join(modelsDir, 'whisper'), { recursive: true });
    copyFileSync(TEST_LLM_MODEL, path.join(modelsDir, 'whisper', 'test-whisper.bin'));
    expect(await agent.call('models:use', { id: 'test-whisper' })).toEqual({ role: 'stt-whisper', model: 'test-whisper' });
    expect((await agent.call('settings:get')).effective.whisperModel).toBe('test-whisper');
  });

  it('an embedding model (a folder of files) downloads with progress summed over its files and appears only once every file is verified', async () => {
    const agent = agents.at(-1)!;
    const events = recorder(agent);
    const folder = path.join(modelsDir, 'embeddings', 'test-embed');
    const catalog = await agent.call('models:list');
    expect(catalog.models.find((model) => model.id === 'test-embed')).toMatchObject({ role: 'embedding', state: 'missing', sizeBytes: embedBytes, path: folder, license: 'Apache-2.0' });
    // The built-in embedder is listed first among the embedding models, and is the one in use.
    const embedding = catalog.models.filter((model) => model.role === 'embedding');
    expect(embedding[0]).toMatchObject({ id: 'use-lite', source: 'built-in', state: 'active', sizeBytes: null });

    embedServers['onnx/model_quantized.onnx']!.behaviour = { chunkDelayMs: 40 };
    expect(await agent.call('models:pull', { id: 'test-embed' })).toEqual({ started: true });
    // While the weights arrive, the folder is not there yet: its files wait in the .partial folder.
    const midway = await events.until(() => events.progressOf('test-embed').find((event) => event.receivedBytes > bytesBeforeWeights + 100_000));
    expect(midway).toMatchObject({ state: 'downloading', totalBytes: embedBytes });
    expect(existsSync(folder)).toBe(false);
    expect(existsSync(`${folder}.partial`)).toBe(true);
    expect((await agent.call('models:list')).models.find((model) => model.id === 'test-embed')?.state).toBe('downloading');
    const done = await events.finished('test-embed');
    embedServers['onnx/model_quantized.onnx']!.behaviour = {};

    expect(done).toMatchObject({ state: 'done', receivedBytes: embedBytes, totalBytes: embedBytes });
    const progress = events.progressOf('test-embed');
    const received = progress.map((event) => event.receivedBytes);
    expect(received).toEqual([...received].sort((a, b) => a - b));
    expect(progress.every((event) => event.totalBytes === embedBytes)).toBe(true);
    // Summed: progress passes the files before the weights, then counts the weights on top of them.
    expect(received.some((bytes) => bytes > bytesBeforeWeights && bytes < embedBytes)).toBe(true);
    expect(progress.map((event) => event.state)).toContain('verifying');
    for (const file of embedPaths) expect(readFileSync(path.join(folder, file)).equals(embedFiles[file]!), file).toBe(true);
    expect(readdirSync(path.join(modelsDir, 'embeddings'))).toEqual(['test-embed']);
    expect((await agent.call('models:list')).models.find((model) => model.id === 'test-embed')).toMatchObject({ state: 'ready', path: folder });
    expect(events.events.filter((event) => event.type === 'error' || event.type === 'notice')).toEqual([]);
    // Pulling it again fetches nothing.
    const requests = embedPaths.map((file) => embedServers[file]!.requests.length);
    expect(await agent.call('models:pull', { id: 'test-embed' })).toEqual({ started: false });
    expect(embedPaths.map((file) => embedServers[file]!.requests.length)).toEqual(requests);
  });

  it('models:use of an embedding model saves it as the embedder for the next start, where the documents use it from the download folder', async () => {
    const agent = agents.at(-1)!;
    await expect(agent.call('models:use', { id: 'test-embed-resume' })).rejects.toMatchObject({ code: 'MODEL_MISSING' });
    const used = await agent.call('models:use', { id: 'test-embed' });
    expect(used).toEqual({
      role: 'embedding',
      model: 'test-embed',
      message: 'test-embed becomes the document embedder at the next start; your documents are then embedded again, with progress.',
    });
    expect((await agent.call('settings:get')).saved.embedder).toBe('test-embed');
    // No hot swap: USE-lite stays in use for this launch; the chosen model is marked for the next start.
    expect(agent.documents?.embedder.id).toMatch(/^use-lite@/);
    const before = (await agent.call('models:list')).models;
    expect(before.find((model) => model.id === 'test-embed')).toMatchObject({ state: 'ready', nextStart: true });
    expect(before.find((model) => model.id === 'use-lite')).toMatchObject({ state: 'active' });
    expect(before.find((model) => model.id === 'use-lite')?.nextStart).toBeUndefined();

    await agent.close();
    const restarted = start();
    await restarted.whenReady();
    // Found where the download put it (ASSISTANT_MODELS_DIR), not in the project's models folder.
    expect(restarted.documents?.embedder).toMatchObject({ id: 'onnx:test-embed@q8', dimensions: 384 });
    const after = (await restarted.call('models:list')).models;
    expect(after.find((model) => model.id === 'test-embed')).toMatchObject({ state: 'active' });
    expect(after.find((model) => model.id === 'use-lite')).toMatchObject({ state: 'ready' });
    await expect(restarted.call('models:delete', { id: 'test-embed' })).rejects.toMatchObject({ code: 'MODEL_IN_USE' });

    // Back to the built-in one, again from the next start.
    expect(await restarted.call('models:use', { id: 'use-lite' })).toMatchObject({ role: 'embedding', model: 'use-lite', message: expect.stringContaining('next start') });
    expect((await restarted.call('settings:get')).saved.embedder).toBe('use-lite');
    expect((await restarted.call('models:list')).models.find((model) => model.id === 'use-lite')).toMatchObject({ state: 'ready', nextStart: true });
    // ASSISTANT_EMBEDDER still wins over the saved choice.
    vi.stubEnv('ASSISTANT_EMBEDDER', 'use-lite');
    try {
      const overridden = await restarted.call('models:use', { id: 'test-embed' });
      expect(overridden.message).toBe('test-embed is saved as the document embedder, but ASSISTANT_EMBEDDER is set and chooses the embedder while it is.');
    } finally {
      vi.stubEnv('ASSISTANT_EMBEDDER', '');
    }
    await restarted.call('models:use', { id: 'use-lite' });

    // settings:set checks an embedder choice like models:use does, before anything is saved.
    await expect(restarted.call('settings:set', { embedder: 'test-whisper' })).rejects.toMatchObject({ code: 'INVALID_MESSAGE', message: 'embedder: test-whisper is a stt-whisper model, not an embedding model.' });
    await expect(restarted.call('settings:set', { embedder: 'no-such-embedder' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('Known: use-lite, ') });
    await expect(restarted.call('settings:set', { embedder: workDir })).rejects.toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringContaining(`embedder was not saved: The embedding model folder ${workDir} has no config.json`) });
    expect((await restarted.call('settings:get')).saved.embedder).toBe('use-lite');
    const folder = path.join(modelsDir, 'embeddings', 'test-embed');
    expect((await restarted.call('settings:set', { embedder: folder })).saved.embedder).toBe(folder);
    expect((await restarted.call('settings:set', { embedder: 'TEST-EMBED' })).saved.embedder).toBe('test-embed');
    await restarted.call('settings:set', { embedder: 'use-lite' });
  });

  it('an embedding model with a corrupted file fails with a checksum sentence and no model folder; the next pull fetches only that file', async () => {
    const agent = agents.at(-1)!;
    const events = recorder(agent);
    const folder = path.join(modelsDir, 'embeddings', 'test-embed-bad');
    const tokenizer = embedServed['tokenizer.json']!;
    tokenizer[100] = tokenizer[100]! ^ 0xff;
    try {
      await agent.call('models:pull', { id: 'test-embed-bad' });
      const failed = await events.finished('test-embed-bad');
      expect(failed.state).toBe('failed');
      expect(failed.message).toBe(
        `The file from ${new URL(embedServers['config.json']!.url).host} is not the expected test-embed-bad (checksum mismatch) and was set aside: download it again, or copy the test-embed-bad folder (config.json, tokenizer_config.json, tokenizer.json, onnx/model_quantized.onnx) to ${path.join(modelsDir, 'embeddings')}.`,
      );
      expect(existsSync(folder)).toBe(false);
      // The files verified before it are kept for the next pull.
      const listed = (await agent.call('models:list')).models.find((model) => model.id === 'test-embed-bad');
      const keptBytes = embedFiles['config.json']!.length + embedFiles['tokenizer_config.json']!.length;
      expect(listed).toMatchObject({ state: 'missing', receivedBytes: keptBytes });
    } finally {
      embedServed['tokenizer.json']!.set(embedFiles['tokenizer.json']!);
    }
    const again = recorder(agent);
    await agent.call('models:pull', { id: 'test-embed-bad' });
    expect((await again.finished('test-embed-bad')).state).toBe('done');
    expect(Object.values(embedRequests('test-embed-bad')).map((requests) => requests.length)).toEqual([1, 1, 2, 1]);
    expect(readdirSync(folder).sort()).toEqual(['config.json', 'onnx', 'tokenizer.json', 'tokenizer_config.json']);
    expect(await agent.call('models:delete', { id: 'test-embed-bad' })).toEqual({ deleted: true });
    expect(existsSync(folder)).toBe(false);
  });

  it('an embedding model pull can be cancelled (a second pull meanwhile is refused); the next pull resumes the file it stopped in with a Range request', async () => {
    const agent = agents.at(-1)!;
    const events = recorder(agent);
    const weights = 'onnx/model_quantized.onnx';
    embedServers[weights]!.behaviour = { chunkDelayMs: 60 };
    await agent.call('models:pull', { id: 'test-embed-resume' });
    await events.until(() => events.progressOf('test-embed-resume').find((event) => event.receivedBytes > bytesBeforeWeights));
    await expect(agent.call('models:pull', { id: 'test-embed-resume' })).rejects.toMatchObject({ code: 'ALREADY_DOWNLOADING' });
    expect(await agent.call('models:cancel', { id: 'test-embed-resume' })).toEqual({ cancelled: true });
    expect((await events.finished('test-embed-resume')).state).toBe('cancelled');
    const folder = path.join(modelsDir, 'embeddings', 'test-embed-resume');
    expect(existsSync(folder)).toBe(false);
    const partialWeights = statSync(path.join(`${folder}.partial`, 'onnx', 'model_quantized.onnx.partial')).size;
    expect(partialWeights).toBeGreaterThan(0);
    const listed = (await agent.call('models:list')).models.find((model) => model.id === 'test-embed-resume');
    expect(listed).toMatchObject({ state: 'missing', receivedBytes: bytesBeforeWeights + partialWeights });

    embedServers[weights]!.behaviour = {};
    const again = recorder(agent);
    await agent.call('models:pull', { id: 'test-embed-resume' });
    expect((await again.finished('test-embed-resume')).state).toBe('done');
    const requests = embedRequests('test-embed-resume');
    expect(requests[weights]!.at(-1)).toMatchObject({ range: `bytes=${partialWeights}-`, status: 206 });
    expect(embedPaths.map((file) => requests[file]!.length)).toEqual([1, 1, 1, 2]);
    expect(readFileSync(path.join(folder, weights)).equals(modelBytes)).toBe(true);
    expect(existsSync(`${folder}.partial`)).toBe(false);
  });

  it('offline: an embedding model pull fails at once with one short sentence naming the folder to copy, and leaves nothing behind', async () => {
    const agent = agents.at(-1)!;
    const events = recorder(agent);
    await agent.call('models:pull', { id: 'test-embed-offline' });
    const failed = await events.finished('test-embed-offline');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events.progressOf('test-embed-offline')).toEqual([failed]);
    expect(failed).toMatchObject({
      state: 'failed',
      message: `No connection to ${new URL(offlineUrl).host}: copy the test-embed-offline folder (config.json, tokenizer_config.json, tokenizer.json, onnx/model_quantized.onnx) to ${path.join(modelsDir, 'embeddings')}.`,
    });
    expect(events.events.filter((event) => event.type === 'error' || event.type === 'notice')).toEqual([]);
    expect(readdirSync(path.join(modelsDir, 'embeddings')).filter((name) => name.startsWith('test-embed-offline'))).toEqual([]);
  });
});

describe('models backend with Ollama (the protocol fixture)', () => {
  let ollama: OllamaProtocolServer;
  let agent: Agent;
  const workOllama = tempDataDir('models-ollama-');

  beforeAll(async () => {
    ollama = await OllamaProtocolServer.start({ models: ['llama3.2:latest'], pullable: { 'qwen2.5:0.5b': 400_000, 'qwen2.5:0.5b-big': 900_000 }, pullIntervalMs: 10 });
    vi.stubEnv('ASSISTANT_MODELS_DIR', path.join(workOllama, 'models'));
    vi.stubEnv('ASSISTANT_MODELS_MANIFEST', '');
    vi.stubEnv('ASSISTANT_LLM_MODEL', '');
    // The embedded default is missing (first run); Ollama is there.
    agent = createAgent({
      config: { dataDir: path.join(workOllama, 'data'), voice: { enabled: false }, llm: { provider: 'embedded', ollamaHost: ollama.url, threads: 1 } },
    });
    await agent.whenReady();
  });
  afterAll(async () => {
    await agent.close();
    await ollama.close();
    vi.unstubAllEnvs();
  });

  it('lists the models Ollama has; pulls one through /api/pull with progress; it becomes the chat model when none was', async () => {
    expect((await agent.call('agent:status')).llm).toMatchObject({ state: 'missing', missingModelId: 'qwen2.5-0.5b-instruct' });
    const catalog = await agent.call('models:list');
    expect(catalog.ollama).toEqual({ reachable: true, host: ollama.url });
    expect(catalog.models.find((model) => model.source === 'ollama')).toMatchObject({ id: 'llama3.2:latest', role: 'llm', state: 'ready' });

    const events = recorder(agent);
    expect(await agent.call('models:pull', { id: 'qwen2.5:0.5b', source: 'ollama' })).toEqual({ started: true });
    await expect(agent.call('models:pull', { id: 'qwen2.5:0.5b', source: 'ollama' })).rejects.toMatchObject({ code: 'ALREADY_DOWNLOADING' });
    const done = await events.finished('qwen2.5:0.5b');
    expect(done).toMatchObject({ state: 'done', receivedBytes: 400_000, totalBytes: 400_000 });
    const downloading = events.progressOf('qwen2.5:0.5b').filter((event) => event.state === 'downloading');
    expect(downloading.some((event) => event.receivedBytes > 0 && event.receivedBytes < 400_000)).toBe(true);
    // The ollama client sends the model as `name` (the older field); Ollama takes either.
    const pullBody = ollama.requestsTo('/api/pull')[0]?.body as { model?: string; name?: string; stream?: boolean };
    expect([pullBody.model ?? pullBody.name, pullBody.stream]).toEqual(['qwen2.5:0.5b', true]);

    await events.warm('qwen2.5:0.5b');
    expect((await agent.call('agent:status')).llm).toMatchObject({ state: 'warm', provider: 'ollama', model: 'qwen2.5:0.5b' });
    const turn = await ask(agent, 'hello');
    expect(turn.done).toMatchObject({ provider: 'ollama', model: 'qwen2.5:0.5b', text: 'Hello, world.' });
    const listed = (await agent.call('models:list')).models.filter((model) => model.source === 'ollama');
    expect(listed.map((model) => `${model.id}:${model.state}`)).toEqual(['llama3.2:latest:ready', 'qwen2.5:0.5b:active']);
  });

  it('an Ollama pull can be cancelled', async () => {
    const events = recorder(agent);
    await agent.call('models:pull', { id: 'qwen2.5:0.5b-big', source: 'ollama' });
    await events.firstBytes('qwen2.5:0.5b-big');
    expect(await agent.call('models:cancel', { id: 'qwen2.5:0.5b-big' })).toEqual({ cancelled: true });
    expect((await events.finished('qwen2.5:0.5b-big')).state).toBe('cancelled');
    expect(await ollama.requestsTo('/api/pull').at(-1)?.settled).toBe('closed-by-client');
    expect((await agent.call('models:list')).models.map((model) => model.id)).not.toContain('qwen2.5:0.5b-big');
  });

  it('models:use switches to another Ollama model; a model Ollama cannot pull fails with its reason, once', async () => {
    expect(await agent.call('models:use', { id: 'llama3.2:latest' })).toEqual({ role: 'llm', model: 'llama3.2:latest' });
    expect((await agent.call('settings:get')).saved).toMatchObject({ llmProvider: 'ollama', ollamaModel: 'llama3.2:latest' });
    const events = recorder(agent);
    await agent.call('models:pull', { id: 'no-such-model', source: 'ollama' });
    const failed = await events.finished('no-such-model');
    expect(failed).toMatchObject({ state: 'failed', message: 'Ollama could not pull no-such-model: pull model manifest: file does not exist.' });
    expect(events.events.filter((event) => event.type === 'error')).toEqual([]);
    await expect(agent.call('models:use', { id: 'no-such-model' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('llama3.2:latest') });
  });
});
