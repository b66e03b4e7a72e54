import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import {
  AgentError,
  type AgentEvent,
  type CatalogModel,
  type CatalogModelRole,
  type CommandArgs,
  type ModelCatalog,
  type ModelProgressEvent,
} from '../../src-shared/contract/index.js';
import type { HostAgentClient } from '../transport/hostConnection.js';
import { coalesced } from './coalescedRefresh.js';
import { followHost } from './followHost.js';
import { errorText, withEntry, withoutEntry } from './storeHelpers.js';

/** Where a pull was started: its failure is shown there, and only there, so the same message never shows twice. */
export type PullOrigin = 'first-run' | 'panel' | 'voice';

export type ModelAction = 'pull' | 'cancel' | 'delete' | 'use';

export interface PullFailure {
  message: string;
  /** Absent when this window did not start the pull (another window, the terminal, a resumed download). */
  origin?: PullOrigin;
}

export type UseTarget = CommandArgs<'models:use'>;

export interface ModelsState {
  /** What `models:list` said last; null until it answered (or with a host that has no models commands). */
  catalog: ModelCatalog | null;
  /** The latest `model-progress` per model id (manifest id or Ollama name) while a pull runs. */
  progress: Record<string, ModelProgressEvent>;
  /** The last pull of a model failed: its one short message, shown where the pull was started. */
  failures: Record<string, PullFailure>;
  /** A command on its way per model id (or per path for "use this file"). */
  pending: Record<string, ModelAction>;
  /** Why the last Use, Delete or Cancel failed, and where it was asked. */
  actionError: { message: string; origin: PullOrigin } | null;
  /** What the last Use said when it takes effect later (an embedding model: at the next start), and where it was asked. */
  notice: { message: string; origin: PullOrigin } | null;
  /** The user started a first-run action (download, Ollama, a file): the card stays until the chat model is warm. */
  firstRunEngaged: boolean;
  panelOpen: boolean;

  /** Loads the catalog now and after every reconnect, and follows progress and status events; returns the unsubscribe. */
  start(): () => void;
  refresh(): Promise<void>;
  /**
   * Starts (or resumes) a download. A chat model that arrives while none is loaded (the first run) is made active by
   * the agent itself, so the chat works without another click.
   */
  pull(id: string, options: { origin: PullOrigin; source?: 'manifest' | 'ollama' }): Promise<void>;
  cancel(id: string, origin: PullOrigin): Promise<void>;
  remove(id: string, origin: PullOrigin): Promise<void>;
  /** Makes a model (or a file) the active one of its role; resolves true when the agent took it. */
  use(target: UseTarget, origin: PullOrigin): Promise<boolean>;
  /**
   * Answers with Ollama: its installed chat model (the configured one when installed, else the first), or, when it has
   * none, pulls the configured one through Ollama (which the agent makes active once it is there, as on a first run).
   */
  useOllama(origin: PullOrigin): Promise<void>;
  engageFirstRun(): void;
  dismissFailure(id: string): void;
  togglePanel(): void;
  closePanel(): void;
}

export type ModelsStore = StoreApi<ModelsState>;

/** The manifest's default model of a role (the first-run card offers the chat one, the voice settings the Whisper one). */
export function defaultModel(catalog: ModelCatalog | null, role: CatalogModelRole): CatalogModel | undefined {
  return catalog?.models.find((model) => model.role === role && model.isDefault);
}

/** Whether two Ollama model names are the same model: Ollama reads a name without a tag as `:latest`. */
export function sameOllamaModel(a: string, b: string): boolean {
  const tagged = (name: string) => (name.includes(':') ? name : `${name}:latest`);
  return tagged(a) === tagged(b);
}

function useKey(target: UseTarget): string {
  return 'id' in target ? target.id : `path:${target.path}`;
}

/**
 * The models panel, the first-run card and the Whisper offer share this store: the catalog from `models:list`,
 * live `model-progress` per pull, and the commands that change them. The chat model's state itself comes from the
 * chat store (`agent:status` and `status` events); a `status` event refreshes the catalog so "active" follows it.
 */
export function createModelsStore(client: HostAgentClient): ModelsStore {
  return createStore<ModelsState>()((set, get) => {
    /** Where each pull this window started was asked, for its failure message. */
    const pullOrigins = new Map<string, PullOrigin>();

    async function load(): Promise<void> {
      try {
        set({ catalog: await client.call('models:list') });
      } catch {
        // Keep the last catalog. A host without the models commands leaves it null: the app then keeps its older
        // behaviour (the status badge says what is missing), and nothing here shows.
      }
    }

    /** A burst of events costs at most two models:list calls. */
    const refresh = coalesced(load);

    function onProgress(event: ModelProgressEvent): void {
      switch (event.state) {
        case 'downloading':
        case 'verifying':
          set({ progress: withEntry(get().progress, event.id, event), failures: withoutEntry(get().failures, event.id) });
          return;
        case 'done':
        case 'cancelled':
          set({ progress: withoutEntry(get().progress, event.id) });
          void refresh();
          return;
        case 'failed': {
          const origin = pullOrigins.get(event.id);
          const failure: PullFailure = { message: event.message ?? `Downloading ${event.id} failed.`, ...(origin && { origin }) };
          set({ progress: withoutEntry(get().progress, event.id), failures: withEntry(get().failures, event.id, failure) });
          void refresh();
          return;
        }
      }
    }

    function onEvent(event: AgentEvent): void {
      if (event.type === 'model-progress') onProgress(event);
      else if (event.type === 'status') {
        // The chat works: the first-run card has done its job.
        if (event.status.llm.state === 'warm' && get().firstRunEngaged) set({ firstRunEngaged: false });
        // The active model changed (a Use, a fallback, a load that finished): the catalog's "active" follows.
        void refresh();
      }
    }

    async function run<T>(key: string, action: ModelAction, origin: PullOrigin, command: () => Promise<T>): Promise<T | undefined> {
      set({ pending: withEntry(get().pending, key, action), actionError: null, notice: null });
      try {
        return await command();
      } catch (error) {
        set({ actionError: { message: errorText(error), origin } });
        return undefined;
      } finally {
        set({ pending: withoutEntry(get().pending, key) });
      }
    }

    return {
      catalog: null,
      progress: {},
      failures: {},
      pending: {},
      actionError: null,
      notice: null,
      firstRunEngaged: false,
      panelOpen: false,

      start() {
        return followHost(client, {
          onEvent,
          load: refresh,
          afterDrop() {
            // Progress seen before the drop may be stale (the host may have restarted): the catalog is the truth now.
            set({ progress: {} });
          },
        });
      },

      refresh,

      async pull(id, { origin, source }) {
        if (get().pending[id] === 'pull') return;
        const model = get().catalog?.models.find((candidate) => candidate.id === id);
        pullOrigins.set(id, origin);
        // The bar shows at once, from what is already on disk; the agent's events take over from here.
        set({
          failures: withoutEntry(get().failures, id),
          pending: withEntry(get().pending, id, 'pull'),
          actionError: null,
          progress: withEntry(get().progress, id, {
            type: 'model-progress',
            id,
            receivedBytes: model?.receivedBytes ?? 0,
            totalBytes: model?.sizeBytes ?? null,
            bytesPerSecond: 0,
            state: 'downloading',
          }),
        });
        try {
          const { started } = await client.call('models:pull', source === undefined ? { id } : { id, source });
          if (!started) {
            // Nothing to fetch (already on disk): no progress will come.
            set({ progress: withoutEntry(get().progress, id) });
            void refresh();
          }
        } catch (error) {
          if (error instanceof AgentError && error.code === 'ALREADY_DOWNLOADING') {
            // Another window (or the terminal) is pulling it: its progress events are ours too.
            return;
          }
          // The same slot as a `failed` event: whichever comes first, the message shows once.
          set({
            progress: withoutEntry(get().progress, id),
            failures: withEntry(get().failures, id, get().failures[id] ?? { message: errorText(error), origin }),
          });
          void refresh();
        } finally {
          set({ pending: withoutEntry(get().pending, id) });
        }
      },

      async cancel(id, origin) {
        await run(id, 'cancel', origin, () => client.call('models:cancel', { id }));
        void refresh();
      },

      async remove(id, origin) {
        await run(id, 'delete', origin, () => client.call('models:delete', { id }));
        void refresh();
      },

      async use(target, origin) {
        const result = await run(useKey(target), 'use', origin, () => client.call('models:use', target));
        if (result?.message !== undefined) set({ notice: { message: result.message, origin } });
        void refresh();
        return result !== undefined;
      },

      async useOllama(origin) {
        const installed = get().catalog?.models.filter((model) => model.source === 'ollama' && model.role === 'llm') ?? [];
        let wanted: string | undefined;
        try {
          wanted = (await client.call('settings:get')).effective.ollamaModel;
        } catch {
          // Without the settings, any installed model will do.
        }
        const preferred = installed.find((model) => wanted !== undefined && sameOllamaModel(model.id, wanted)) ?? installed[0];
        if (preferred) await get().use({ id: preferred.id }, origin);
        else if (wanted) await get().pull(wanted, { origin, source: 'ollama' });
        else set({ actionError: { message: 'Ollama has no chat model yet. Pull one in the Models panel.', origin } });
      },

      engageFirstRun() {
        set({ firstRunEngaged: true });
      },

      dismissFailure(id) {
        set({ failures: withoutEntry(get().failures, id) });
      },

      togglePanel() {
        const open = !get().panelOpen;
        set({ panelOpen: open });
        if (open) void refresh();
      },

      closePanel() {
        set({ panelOpen: false });
      },
    };
  });
}

export const ModelsStoreContext = createContext<ModelsStore | null>(null);

export function useModels<T>(selector: (state: ModelsState) => T): T {
  const store = useContext(ModelsStoreContext);
  if (!store) throw new Error('useModels must be used inside <ModelsStoreContext.Provider>.');
  return useStore(store, selector);
}
