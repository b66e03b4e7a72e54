import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { AgentEvent, CommandResult } from '../../src-shared/contract/index.js';
import type { HostAgentClient } from '../transport/hostConnection.js';
import { coalesced } from './coalescedRefresh.js';
import { errorText } from './storeHelpers.js';

export type TurnStatsResult = CommandResult<'stats:get'>;

export interface StatsState {
  open: boolean;
  /** The last `stats:get` answer; null until the panel was first opened. */
  stats: TurnStatsResult | null;
  loading: boolean;
  error: string | null;

  /** Refreshes the open panel after every turn (and after a turn's late stages, e.g. a voice answer's first audio). */
  start(): () => void;
  toggle(): void;
  close(): void;
  refresh(): Promise<void>;
}

export type StatsStore = StoreApi<StatsState>;

/** How many ended turns are remembered, to notice their late stages. */
const REMEMBERED_TURNS = 20;

/**
 * The performance panel's data: per-stage percentiles and the last turn's stages from `stats:get`. Asked for only
 * while the panel is open: when it opens, after each `done`, and when a turn that is done still reports a stage.
 */
export function createStatsStore(client: HostAgentClient): StatsStore {
  return createStore<StatsState>()((set, get) => {
    let request = 0;
    const endedTurns: string[] = [];

    async function load(): Promise<void> {
      const id = ++request;
      set({ loading: true });
      try {
        const stats = await client.call('stats:get');
        if (id === request) set({ stats, error: null });
      } catch (error) {
        if (id === request) set({ error: errorText(error) });
      } finally {
        if (id === request) set({ loading: false });
      }
    }

    /** Bursts of events cost at most two calls; the one asked for after a running call is skipped once the panel closed. */
    const refreshOpen = coalesced(async () => {
      if (get().open) await load();
    });

    function onEvent(event: AgentEvent): void {
      if (event.type === 'done') {
        endedTurns.push(event.turnId);
        if (endedTurns.length > REMEMBERED_TURNS) endedTurns.shift();
        void get().refresh();
      } else if (event.type === 'stage' && event.phase === 'end' && endedTurns.includes(event.turnId)) {
        void get().refresh();
      }
    }

    return {
      open: false,
      stats: null,
      loading: false,
      error: null,

      start() {
        const unlistenEvents = client.listen(onEvent);
        const unlistenConnection = client.onConnectionChange((connection) => {
          if (connection === 'open') void get().refresh();
        });
        return () => {
          unlistenEvents();
          unlistenConnection();
        };
      },

      toggle() {
        if (get().open) get().close();
        else {
          set({ open: true });
          void get().refresh();
        }
      },

      close() {
        set({ open: false });
      },

      async refresh() {
        if (get().open) await refreshOpen();
      },
    };
  });
}

export const StatsStoreContext = createContext<StatsStore | null>(null);

export function useStats<T>(selector: (state: StatsState) => T): T {
  const store = useContext(StatsStoreContext);
  if (!store) throw new Error('useStats must be used inside <StatsStoreContext.Provider>.');
  return useStore(store, selector);
}
