import { describe, expect, it } from 'vitest';
import { AgentError, type CatalogModel, type ModelCatalog } from '../../src-shared/contract/index.js';
import { fakeHostClient, settle } from '../testing/fakeHostClient.js';
import { createModelsStore } from './modelsStore.dom.js';

const chatModel = (overrides: Partial<CatalogModel> = {}): CatalogModel => ({
  id: 'tiny-chat',
  role: 'llm',
  source: 'user-manifest',
  description: 'Tiny chat model',
  license: 'MIT',
  sizeBytes: 1000,
  state: 'missing',
  isDefault: true,
  testOnly: false,
  ...overrides,
});

/** A fake host: `models:list` answers with the current catalog; other commands run the test's handler. */
function fakeHost(handle: (command: string, args: unknown) => unknown = () => ({})) {
  let catalog: ModelCatalog = { models: [chatModel()], ollama: { reachable: false, host: 'http://127.0.0.1:11434' }, modelsDir: '/models' };
  const host = fakeHostClient((command, args) => (command === 'models:list' ? structuredClone(catalog) : handle(command, args)));
  return {
    ...host,
    setModel: (overrides: Partial<CatalogModel>) => {
      catalog = { ...catalog, models: [chatModel(overrides)] };
    },
  };
}

const progress = (state: 'downloading' | 'verifying' | 'done' | 'failed' | 'cancelled', extra: { message?: string; receivedBytes?: number } = {}) =>
  ({ type: 'model-progress', id: 'tiny-chat', receivedBytes: extra.receivedBytes ?? 0, totalBytes: 1000, bytesPerSecond: 100, state, ...(extra.message && { message: extra.message }) }) as const;

describe('the models store', () => {
  it('keeps one message for a failed pull, whether the call, the event or both said so', async () => {
    const host = fakeHost((command) => {
      if (command === 'models:pull') throw new AgentError('DOWNLOAD_FAILED', 'Could not reach the server.');
      return {};
    });
    const store = createModelsStore(host.client);
    store.getState().start();
    await settle();

    const pulling = store.getState().pull('tiny-chat', { origin: 'first-run' });
    expect(store.getState().progress['tiny-chat']?.state).toBe('downloading');
    host.emit(progress('failed', { message: 'Offline: copy tiny.gguf to /models/llm, or choose a model file.' }));
    await pulling;

    expect(store.getState().failures).toEqual({
      'tiny-chat': { message: 'Offline: copy tiny.gguf to /models/llm, or choose a model file.', origin: 'first-run' },
    });
    expect(store.getState().progress).toEqual({});
    expect(host.calls('models:use')).toHaveLength(0);

    // Retrying clears the message at once.
    void store.getState().pull('tiny-chat', { origin: 'first-run' });
    expect(store.getState().failures).toEqual({});
  });

  it('shows progress as it comes and reloads the catalog when a download ends, so its state follows the agent', async () => {
    const host = fakeHost((command) => (command === 'models:pull' ? { started: true } : {}));
    const store = createModelsStore(host.client);
    store.getState().start();
    await store.getState().pull('tiny-chat', { origin: 'first-run' });
    host.emit(progress('downloading', { receivedBytes: 500 }));
    expect(store.getState().progress['tiny-chat']?.receivedBytes).toBe(500);

    host.setModel({ state: 'active' });
    host.emit(progress('done', { receivedBytes: 1000 }));
    await settle();
    expect(store.getState().progress).toEqual({});
    expect(store.getState().catalog?.models[0]?.state).toBe('active');
    // The agent makes a first-run download active itself: the UI never loads it a second time.
    expect(host.calls('models:use')).toHaveLength(0);
  });

  it('drops the bar at once when there was nothing to download', async () => {
    const host = fakeHost((command) => (command === 'models:pull' ? { started: false } : {}));
    const store = createModelsStore(host.client);
    store.getState().start();
    await store.getState().pull('tiny-chat', { origin: 'panel' });
    expect(store.getState().progress).toEqual({});
    expect(store.getState().pending).toEqual({});
  });

  it('forgets progress seen before a dropped connection: after a host restart the catalog is the truth', async () => {
    const host = fakeHost(() => ({ started: true }));
    const store = createModelsStore(host.client);
    store.getState().start();
    await store.getState().pull('tiny-chat', { origin: 'panel' });
    host.emit(progress('downloading', { receivedBytes: 400 }));
    host.connection('closed');
    host.setModel({ state: 'missing', receivedBytes: 400 });
    host.connection('open');
    await settle();
    expect(store.getState().progress).toEqual({});
    expect(store.getState().catalog?.models[0]).toMatchObject({ state: 'missing', receivedBytes: 400 });
  });

  it('shows what Use of an embedding model said (it applies at the next start) where it was asked, until the next action', async () => {
    const message = 'all-minilm-l6-v2 becomes the document embedder at the next start; your documents are then embedded again, with progress.';
    const host = fakeHost((command) => {
      if (command === 'models:use') return { role: 'embedding', model: 'all-minilm-l6-v2', message };
      if (command === 'models:delete') return { deleted: true };
      return {};
    });
    const store = createModelsStore(host.client);
    store.getState().start();
    expect(await store.getState().use({ id: 'all-minilm-l6-v2' }, 'panel')).toBe(true);
    expect(store.getState().notice).toEqual({ message, origin: 'panel' });
    expect(store.getState().actionError).toBeNull();
    await store.getState().remove('bge-small-en-v1.5', 'panel');
    expect(store.getState().notice).toBeNull();
  });

  it('keeps the first-run card engaged until the chat model is warm', async () => {
    const host = fakeHost();
    const store = createModelsStore(host.client);
    store.getState().start();
    store.getState().engageFirstRun();
    host.emit({ type: 'status', status: { llm: { state: 'loading', provider: 'embedded', model: 'tiny-chat' } } });
    expect(store.getState().firstRunEngaged).toBe(true);
    host.emit({ type: 'status', status: { llm: { state: 'warm', provider: 'embedded', model: 'tiny-chat' } } });
    expect(store.getState().firstRunEngaged).toBe(false);
  });
});
