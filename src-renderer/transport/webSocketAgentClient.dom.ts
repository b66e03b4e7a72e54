import {
  AgentError,
  fromErrorShape,
  ServerFrame,
  parseCommandResult,
  type AgentEvent,
  type ClientFrame,
  type CommandArgs,
  type CommandName,
  type CommandResult,
} from '../../src-shared/contract/index.js';
import type { ConnectionState, HostAgentClient } from './hostConnection.js';

const FIRST_RETRY_DELAY_MS = 250;
/** Mic audio older than this backlog (about 30 s of 16 kHz PCM) is stale: frames are dropped rather than queued. */
const MAX_BUFFERED_MIC_BYTES = 1024 * 1024;
const MAX_RETRY_DELAY_MS = 5000;

interface PendingCall {
  command: CommandName;
  resolve(value: unknown): void;
  reject(error: AgentError): void;
}

function notConnectedError(command: string): AgentError {
  return new AgentError(
    'INTERNAL',
    `Not connected to the assistant, so "${command}" was not sent. Reconnecting; if this persists, restart the assistant and open its new URL.`,
  );
}

/**
 * The AgentClient of the headless host: call/cancel/event frames over one WebSocket. Every frame that arrives is
 * validated with the shared zod schemas. The socket reconnects with backoff; calls cannot survive a drop, so they fail
 * with a clear error and the UI re-syncs on `open`.
 */
export class WebSocketAgentClient implements HostAgentClient {
  connectionState: ConnectionState = 'connecting';
  private socket: WebSocket | undefined;
  private nextCallId = 1;
  private retryDelayMs = FIRST_RETRY_DELAY_MS;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private closedByUser = false;
  private readonly pending = new Map<number, PendingCall>();
  private readonly eventListeners = new Set<(event: AgentEvent) => void>();
  private readonly connectionListeners = new Set<(state: ConnectionState) => void>();

  constructor(private readonly url: string) {
    this.connect();
  }

  call<C extends CommandName>(command: C, args?: CommandArgs<C>, signal?: AbortSignal): Promise<CommandResult<C>> {
    const socket = this.socket;
    if (signal?.aborted) return Promise.reject(new AgentError('CANCELLED', `${command} was cancelled.`));
    if (!socket || socket.readyState !== WebSocket.OPEN) return Promise.reject(notConnectedError(command));
    const id = this.nextCallId++;
    return new Promise<CommandResult<C>>((resolve, reject) => {
      const onAbort = () => {
        if (!this.pending.delete(id)) return;
        this.send({ kind: 'cancel', id });
        reject(new AgentError('CANCELLED', `${command} was cancelled.`));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        command,
        resolve: (value) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(value as CommandResult<C>);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      this.send(args === undefined ? { kind: 'call', id, command } : { kind: 'call', id, command, args });
    });
  }

  /** One binary WebSocket frame of raw PCM. Dropped while disconnected or backed up: live audio cannot wait. */
  sendMicFrame(pcm: Int16Array): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN || socket.bufferedAmount > MAX_BUFFERED_MIC_BYTES) return;
    socket.send(pcm);
  }

  listen(listener: (event: AgentEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onConnectionChange(listener: (state: ConnectionState) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  close(): void {
    this.closedByUser = true;
    clearTimeout(this.retryTimer);
    this.socket?.close(1000, 'Client closed');
  }

  private connect(): void {
    this.setState('connecting');
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.retryDelayMs = FIRST_RETRY_DELAY_MS;
      this.setState('open');
    });
    socket.addEventListener('message', (message: MessageEvent) => this.receive(message.data));
    socket.addEventListener('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      for (const [id, call] of this.pending) {
        this.pending.delete(id);
        call.reject(new AgentError('INTERNAL', `The connection to the assistant dropped while "${call.command}" was running. Try again.`));
      }
      this.setState('closed');
      if (this.closedByUser) return;
      this.retryTimer = setTimeout(() => this.connect(), this.retryDelayMs);
      this.retryDelayMs = Math.min(this.retryDelayMs * 2, MAX_RETRY_DELAY_MS);
    });
  }

  private send(frame: ClientFrame): void {
    this.socket?.send(JSON.stringify(frame));
  }

  private receive(data: unknown): void {
    // The host sends text frames only; binary frames go the other way (mic audio).
    if (typeof data !== 'string') return;
    let raw: unknown;
    try {
      raw = JSON.parse(data);
    } catch {
      console.error('Dropped a frame from the host that is not JSON.');
      return;
    }
    const parsed = ServerFrame.safeParse(raw);
    if (!parsed.success) {
      console.error('Dropped an invalid frame from the host:', parsed.error.issues[0]?.message);
      return;
    }
    const frame = parsed.data;
    if (frame.kind === 'event') {
      for (const listener of this.eventListeners) listener(frame.event);
      return;
    }
    const call = this.pending.get(frame.id);
    if (!call) {
      if (frame.kind === 'failure') console.error(`The host refused a frame: ${frame.error.message}`);
      return;
    }
    this.pending.delete(frame.id);
    if (frame.kind === 'failure') {
      call.reject(fromErrorShape(frame.error));
      return;
    }
    try {
      call.resolve(parseCommandResult(call.command, frame.value));
    } catch (error) {
      call.reject(error as AgentError);
    }
  }

  private setState(state: ConnectionState): void {
    this.connectionState = state;
    for (const listener of this.connectionListeners) listener(state);
  }
}
