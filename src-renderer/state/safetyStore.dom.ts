import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { GuardName, GuardSetting, GuardSettings } from '../../src-shared/contract/index.js';
import type { HostAgentClient } from '../transport/hostConnection.js';
import { errorText, withEntry, withoutEntry } from './storeHelpers.js';

export type GuardAction = NonNullable<GuardSetting['action']>;

/** A guard as the panel shows it: its saved choices over the agent's defaults. */
export interface GuardChoice {
  enabled: boolean;
  action: GuardAction;
}

/**
 * The agent's defaults for a guard nothing was saved for (src-main/guards/guardrails.ts, DEFAULT_GUARD_POLICIES): the
 * renderer cannot import them, so they are repeated here for display only; what is saved is only what the user changed.
 */
export const GUARD_DEFAULTS: Readonly<Record<GuardName, GuardChoice>> = {
  injection: { enabled: true, action: 'block' },
  pii: { enabled: true, action: 'redact' },
  abuse: { enabled: true, action: 'warn' },
  length: { enabled: true, action: 'block' },
};

/** What each guard can do with a flag: masking only means something for personal data. */
export const GUARD_ACTIONS: Readonly<Record<GuardName, readonly GuardAction[]>> = {
  injection: ['block', 'warn'],
  pii: ['block', 'redact', 'warn'],
  abuse: ['block', 'warn'],
  length: ['block', 'warn'],
};

export function guardChoice(saved: GuardSettings | null, name: GuardName): GuardChoice {
  const setting = saved?.[name] ?? {};
  const defaults = GUARD_DEFAULTS[name];
  return { enabled: setting.enabled ?? defaults.enabled, action: setting.action ?? defaults.action };
}

export interface SafetyState {
  open: boolean;
  /** The saved guard settings (`settings:get`'s `saved.guards`); null until the panel was first opened. */
  saved: GuardSettings | null;
  /** Guards with a change on its way. */
  pending: Record<string, true>;
  /** Why loading or the last change failed (the agent's own words). */
  error: string | null;

  toggle(): void;
  close(): void;
  load(): Promise<void>;
  /** Saves one guard's change (only the fields given); the agent applies it from the next question. */
  change(name: GuardName, patch: GuardSetting): Promise<void>;
  dismissError(): void;
}

export type SafetyStore = StoreApi<SafetyState>;

/**
 * The safety checks panel: each guard's saved settings from `settings:get`, changed one field at a time through
 * `settings:set` (the agent merges a guard's fields, so turning one off keeps its action). Loaded when the panel opens.
 */
export function createSafetyStore(client: HostAgentClient): SafetyStore {
  return createStore<SafetyState>()((set, get) => {
    let request = 0;

    return {
      open: false,
      saved: null,
      pending: {},
      error: null,

      toggle() {
        const open = !get().open;
        set(open ? { open, error: null } : { open });
        if (open) void get().load();
      },

      close() {
        set({ open: false });
      },

      async load() {
        const id = ++request;
        try {
          const view = await client.call('settings:get');
          if (id === request) set({ saved: view.saved.guards ?? {} });
        } catch (error) {
          if (id === request) set({ error: errorText(error) });
        }
      },

      async change(name, patch) {
        // A load on its way is older than this change: its answer must not undo it on screen.
        const id = ++request;
        // Shown at once (a checkbox that springs back until the agent answers reads as "did not work"); the agent's
        // answer then replaces it, and a refusal brings back what is saved.
        const saved = get().saved ?? {};
        set({ saved: { ...saved, [name]: { ...saved[name], ...patch } }, pending: withEntry(get().pending, name, true), error: null });
        try {
          const view = await client.call('settings:set', { guards: { [name]: patch } });
          if (id === request) set({ saved: view.saved.guards ?? {} });
        } catch (error) {
          set({ error: errorText(error) });
          // Show what is saved after all, not the choice that was refused.
          if (id === request) void get().load();
        } finally {
          set({ pending: withoutEntry(get().pending, name) });
        }
      },

      dismissError() {
        set({ error: null });
      },
    };
  });
}

export const SafetyStoreContext = createContext<SafetyStore | null>(null);

export function useSafety<T>(selector: (state: SafetyState) => T): T {
  const store = useContext(SafetyStoreContext);
  if (!store) throw new Error('useSafety must be used inside <SafetyStoreContext.Provider>.');
  return useStore(store, selector);
}
