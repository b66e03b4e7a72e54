import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { VoiceStore, VoiceUiState } from './voiceStore.dom.js';

export const VoiceStoreContext = createContext<VoiceStore | null>(null);

/** Reads a slice of the voice store; components re-render only when that slice changes. */
export function useVoice<T>(selector: (state: VoiceUiState) => T): T {
  const store = useContext(VoiceStoreContext);
  if (!store) throw new Error('useVoice must be used inside <VoiceStoreContext.Provider>.');
  return useStore(store, selector);
}
