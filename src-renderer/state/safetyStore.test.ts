import { describe, expect, it } from 'vitest';
import { AgentError, type GuardSettings, type SavedSettings } from '../../src-shared/contract/index.js';
import { fakeHostClient, settle } from '../testing/fakeHostClient.js';
import { createSafetyStore, guardChoice } from './safetyStore.dom.js';

/** A fake agent keeping saved settings, merging each guard's fields as the agent does; `refuse` makes settings:set throw. */
function fakeSettingsHost(initial: GuardSettings = {}) {
  let saved: SavedSettings = { llmProvider: 'embedded', guards: initial };
  const state = { refuse: null as AgentError | null };
  const view = () => ({ saved: structuredClone(saved), effective: {}, overriddenBy: {} });
  const host = fakeHostClient((command, args) => {
    if (command === 'settings:get') return view();
    if (command === 'settings:set') {
      if (state.refuse) throw state.refuse;
      const patch = (args as SavedSettings).guards ?? {};
      const guards: Record<string, object> = { ...saved.guards };
      for (const [name, setting] of Object.entries(patch)) guards[name] = { ...guards[name], ...setting };
      saved = { ...saved, guards };
      return view();
    }
    return {};
  });
  return { ...host, state };
}

describe('the safety checks store', () => {
  it('shows each guard over the agent’s defaults until something is saved', () => {
    expect(guardChoice({}, 'pii')).toEqual({ enabled: true, action: 'redact' });
    expect(guardChoice({}, 'injection')).toEqual({ enabled: true, action: 'block' });
    expect(guardChoice({ abuse: { enabled: false } }, 'abuse')).toEqual({ enabled: false, action: 'warn' });
    expect(guardChoice({ pii: { action: 'block' } }, 'pii')).toEqual({ enabled: true, action: 'block' });
  });

  it('loads when opened, and saves one guard’s change at a time, as the agent then has it', async () => {
    const host = fakeSettingsHost({ abuse: { action: 'block' } });
    const store = createSafetyStore(host.client);
    expect(host.calls('settings:get')).toHaveLength(0);

    store.getState().toggle();
    await settle();
    expect(store.getState().saved).toEqual({ abuse: { action: 'block' } });

    const saving = store.getState().change('pii', { action: 'block' });
    expect(store.getState().pending).toEqual({ pii: true });
    // Shown at once, before the agent has answered.
    expect(guardChoice(store.getState().saved, 'pii')).toEqual({ enabled: true, action: 'block' });
    await saving;
    expect(host.calls('settings:set').map((call) => call.args)).toEqual([{ guards: { pii: { action: 'block' } } }]);
    expect(store.getState().pending).toEqual({});

    await store.getState().change('pii', { enabled: false });
    expect(store.getState().saved).toEqual({ abuse: { action: 'block' }, pii: { action: 'block', enabled: false } });
    expect(guardChoice(store.getState().saved, 'pii')).toEqual({ enabled: false, action: 'block' });
    expect(store.getState().error).toBeNull();
  });

  it('says why a change was refused, in the agent’s words, and keeps showing what is saved', async () => {
    const host = fakeSettingsHost();
    const store = createSafetyStore(host.client);
    store.getState().toggle();
    await settle();

    host.state.refuse = new AgentError('INVALID_MESSAGE', 'settings:set: guards is not a setting.');
    await store.getState().change('injection', { enabled: false });
    await settle();

    expect(store.getState().error).toBe('settings:set: guards is not a setting.');
    expect(guardChoice(store.getState().saved, 'injection')).toEqual({ enabled: true, action: 'block' });
    expect(store.getState().pending).toEqual({});
  });
});
