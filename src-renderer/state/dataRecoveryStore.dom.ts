import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { DataStatus } from '../../src-shared/contract/index.js';
import type { HostAgentClient } from '../transport/hostConnection.js';
import { errorText } from './storeHelpers.js';

export interface DataRecoveryState {
  /** What the host said about the data folder and database; null until it answered (or with an older host). */
  status: DataStatus | null;
  resetting: boolean;
  /** Why "Move it aside and start fresh" failed. */
  error: string | null;
  movedNoticeDismissed: boolean;

  /** Asks the host now and after every reconnect; returns the unsubscribe. */
  start(): () => void;
  /** Moves the damaged database aside (the host never deletes it), then reloads the app on the fresh one. */
  resetDatabase(): Promise<void>;
  dismissMovedNotice(): void;
}

export type DataRecoveryStore = StoreApi<DataRecoveryState>;

/**
 * When the agent cannot open its data (a damaged database, an unusable folder) the host runs in recovery mode and this
 * store shows it. Separate from the chat store: it only needs `data:status` and `data:reset-database`.
 */
export function createDataRecoveryStore(client: HostAgentClient, reload: () => void = () => window.location.reload()): DataRecoveryStore {
  return createStore<DataRecoveryState>()((set, get) => {
    async function refresh(): Promise<void> {
      try {
        set({ status: await client.call('data:status') });
      } catch {
        // A host without data:status: nothing to show.
      }
    }
    return {
      status: null,
      resetting: false,
      error: null,
      movedNoticeDismissed: false,

      start() {
        const unlisten = client.onConnectionChange((connection) => {
          if (connection === 'open') void refresh();
        });
        if (client.connectionState === 'open') void refresh();
        return unlisten;
      },

      async resetDatabase() {
        if (get().resetting) return;
        set({ resetting: true, error: null });
        try {
          await client.call('data:reset-database');
          // Every store loaded its state from recovery mode; loading the app again is the simplest complete re-sync.
          reload();
        } catch (error) {
          set({ resetting: false, error: errorText(error) });
          await refresh();
        }
      },

      dismissMovedNotice() {
        set({ movedNoticeDismissed: true });
      },
    };
  });
}

export const DataRecoveryStoreContext = createContext<DataRecoveryStore | null>(null);

export function useDataRecovery<T>(selector: (state: DataRecoveryState) => T): T {
  const store = useContext(DataRecoveryStoreContext);
  if (!store) throw new Error('useDataRecovery must be used inside <DataRecoveryStoreContext.Provider>.');
  return useStore(store, selector);
}
