import type { AgentClient } from '../../src-shared/contract/index.js';

export type ConnectionState = 'connecting' | 'open' | 'closed';

/** An AgentClient plus the state of the link to the host, so the UI can say "reconnecting" and re-sync afterwards. */
export interface HostAgentClient extends AgentClient {
  readonly connectionState: ConnectionState;
  onConnectionChange(listener: (state: ConnectionState) => void): () => void;
  close(): void;
}
