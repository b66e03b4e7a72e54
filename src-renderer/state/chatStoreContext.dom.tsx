import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { ChatState, ChatStore } from './chatStore.dom.js';

export const ChatStoreContext = createContext<ChatStore | null>(null);

/** Reads a slice of the chat store; components re-render only when that slice changes. */
export function useChat<T>(selector: (state: ChatState) => T): T {
  const store = useContext(ChatStoreContext);
  if (!store) throw new Error('useChat must be used inside <ChatStoreContext.Provider>.');
  return useStore(store, selector);
}
