import type { AgentEvent } from '../../src-shared/contract/index.js';
import type { ConnectionState, HostAgentClient } from '../transport/hostConnection.js';

/** For tests only: never imported by the app. */

export interface FakeHostClient {
  client: HostAgentClient;
  /** The calls of one command so far, in order. */
  calls(command: string): Array<{ command: string; args: unknown }>;
  /** Delivers an event to every listener, as the host sends one. */
  emit(event: AgentEvent): void;
  /** Tells every connection listener the link is now `state`. */
  connection(state: ConnectionState): void;
}

/** A fake host client, connected: every call is recorded and answered by `answer` (its value, or its throw). */
export function fakeHostClient(answer: (command: string, args: unknown) => unknown): FakeHostClient {
  const listeners = new Set<(event: AgentEvent) => void>();
  const connectionListeners = new Set<(state: ConnectionState) => void>();
  const calls: Array<{ command: string; args: unknown }> = [];
  const client = {
    connectionState: 'open',
    onConnectionChange(listener: (state: ConnectionState) => void) {
      connectionListeners.add(listener);
      return () => connectionListeners.delete(listener);
    },
    close: () => undefined,
    listen(listener: (event: AgentEvent) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async call(command: string, args: unknown) {
      calls.push({ command, args });
      return answer(command, args);
    },
  } as unknown as HostAgentClient;
  return {
    client,
    calls: (command) => calls.filter((call) => call.command === command),
    emit: (event) => listeners.forEach((listener) => listener(event)),
    connection: (state) => connectionListeners.forEach((listener) => listener(state)),
  };
}

/** Lets pending promise callbacks and timers of zero run. */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
