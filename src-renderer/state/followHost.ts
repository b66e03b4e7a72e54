import type { AgentEvent } from '../../src-shared/contract/index.js';
import type { HostAgentClient } from '../transport/hostConnection.js';

export interface HostFollower {
  onEvent(event: AgentEvent): void;
  /** Loads what the store shows: at once when connected, and again on every (re)connect. Not awaited. */
  load(): unknown;
  /** Runs before `load` on a reconnect after a drop, when events may have been missed meanwhile. */
  afterDrop?(): void;
}

/** A store's `start()`: follows the host's events and its connection; returns the unsubscribe. */
export function followHost(client: HostAgentClient, { onEvent, load, afterDrop }: HostFollower): () => void {
  let wasClosed = false;
  const unlistenEvents = client.listen(onEvent);
  const unlistenConnection = client.onConnectionChange((connection) => {
    if (connection !== 'open') {
      wasClosed = true;
      return;
    }
    if (wasClosed) {
      afterDrop?.();
      wasClosed = false;
    }
    void load();
  });
  if (client.connectionState === 'open') void load();
  return () => {
    unlistenEvents();
    unlistenConnection();
  };
}
