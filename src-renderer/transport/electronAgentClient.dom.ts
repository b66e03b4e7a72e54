import {
  AgentError,
  fromErrorShape,
  AgentErrorShape,
  AgentEvent,
  parseCommandResult,
  type CommandArgs,
  type CommandName,
  type CommandResult,
} from '../../src-shared/contract/index.js';
import type { ConnectionState, HostAgentClient } from './hostConnection.js';

/**
 * What the Electron preload exposes as `window.assistantBridge`. The renderer picks each call's id, so it can cancel
 * that call later. A failed call should reject with a plain `{code, message}` object (AgentErrorShape).
 */
export interface AssistantBridge {
  call(command: string, args: unknown, callId: number): Promise<unknown>;
  cancel(callId: number): void;
  onEvent(listener: (event: unknown) => void): () => void;
  /** One mic frame: 16 kHz mono Int16 PCM bytes. */
  sendMicFrame(pcm: ArrayBuffer): void;
  /**
   * The system's file picker for "I have a model file": resolves with the chosen path, or null when the user closed it.
   * Optional: without it (browser mode, or a preload that does not offer it) the UI shows a path field instead.
   */
  pickModelFile?(options: { role: 'llm' | 'stt-whisper' }): Promise<string | null>;
  /**
   * Where a dropped or chosen file is on disk (Electron's webUtils.getPathForFile), or null for one that has no path.
   * Optional: without it, files are uploaded (`docs:upload`) instead of read in place (`docs:ingest`).
   */
  pathForFile?(file: File): string | null;
}

declare global {
  interface Window {
    assistantBridge?: AssistantBridge;
  }
}

function toAgentError(reason: unknown): AgentError {
  const shape = AgentErrorShape.safeParse(reason);
  if (shape.success) return fromErrorShape(shape.data);
  return new AgentError('INTERNAL', reason instanceof Error ? reason.message : String(reason));
}

/** The AgentClient inside Electron. The preload is trusted code, but the main process is another process: validate anyway. */
export class ElectronAgentClient implements HostAgentClient {
  /** IPC to the main process does not drop while the window lives. */
  readonly connectionState: ConnectionState = 'open';
  private nextCallId = 1;

  constructor(private readonly bridge: AssistantBridge) {}

  async call<C extends CommandName>(command: C, args?: CommandArgs<C>, signal?: AbortSignal): Promise<CommandResult<C>> {
    if (signal?.aborted) throw new AgentError('CANCELLED', `${command} was cancelled.`);
    const callId = this.nextCallId++;
    const onAbort = () => this.bridge.cancel(callId);
    signal?.addEventListener('abort', onAbort, { once: true });
    let value: unknown;
    try {
      value = await this.bridge.call(command, args, callId);
    } catch (reason) {
      throw signal?.aborted ? new AgentError('CANCELLED', `${command} was cancelled.`) : toAgentError(reason);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return parseCommandResult(command, value);
  }

  listen(listener: (event: AgentEvent) => void): () => void {
    return this.bridge.onEvent((raw) => {
      const parsed = AgentEvent.safeParse(raw);
      if (parsed.success) listener(parsed.data);
      else console.error('Dropped an invalid event from the main process:', parsed.error.issues[0]?.message);
    });
  }

  sendMicFrame(pcm: Int16Array): void {
    // Copy out exactly this frame's bytes: structured clone over IPC takes an ArrayBuffer, not a view into a larger one.
    this.bridge.sendMicFrame(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength) as ArrayBuffer);
  }

  onConnectionChange(): () => void {
    return () => {};
  }

  close(): void {}
}
