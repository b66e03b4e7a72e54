import type { AgentClient, CommandArgs, CommandName, CommandResult } from '../../src-shared/contract/index.js';

/** Who made a call, as the host knows it. */
export interface CallContext {
  /**
   * One client of the command router: a connection of the headless host or an Electron window. Questions waiting for
   * the model are served round robin between callers.
   */
  caller?: string;
}

/**
 * The agent as every host sees it: the shared `AgentClient` contract (call + listen), plus who is calling.
 * Hosts (Electron IPC, headless WebSocket host, CLI) validate what arrives and forward it here;
 * the agent validates arguments again, so no host can skip validation.
 */
export interface AgentService extends AgentClient {
  call<C extends CommandName>(command: C, args?: CommandArgs<C>, signal?: AbortSignal, context?: CallContext): Promise<CommandResult<C>>;
  /** Resolves when startup work (model load + warm-up) has finished, successfully or not. */
  whenReady(): Promise<void>;
  close(): Promise<void>;
}
