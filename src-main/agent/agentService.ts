import type { AgentClient } from '../../src-shared/contract/index.js';

/**
 * The agent as every host sees it: exactly the shared `AgentClient` contract (call + listen).
 * Hosts (Electron IPC, headless WebSocket host, CLI) validate what arrives and forward it here;
 * the agent validates arguments again, so no host can skip validation.
 */
export interface AgentService extends AgentClient {
  /** Resolves when startup work (model load + warm-up) has finished, successfully or not. */
  whenReady(): Promise<void>;
  close(): Promise<void>;
}
