import type { CommandArgs, CommandName, CommandResult } from './agentCommands.js';
import type { AgentEvent } from './agentEvents.js';

/**
 * What every host gives the UI: call a command (with an optional AbortSignal that cancels it) and listen to events.
 * Implemented by the WebSocket client (headless host), the Electron preload bridge and, in tests, the agent itself.
 */
export interface AgentClient {
  call<C extends CommandName>(command: C, args?: CommandArgs<C>, signal?: AbortSignal): Promise<CommandResult<C>>;
  listen(listener: (event: AgentEvent) => void): () => void;
  /** Streams one microphone frame (16 kHz mono Int16 PCM) to the agent's voice pipeline. Fire and forget. */
  sendMicFrame?(pcm: Int16Array): void;
}
