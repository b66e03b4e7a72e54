import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { AgentError, ClientFrame, type AgentEvent } from '../../src-shared/contract/index.js';
import type { ConnectionState } from './hostConnection.js';
import { WebSocketAgentClient } from './webSocketAgentClient.dom.js';

/** The Int16 samples in a received binary frame (copied: a Buffer may sit at an odd offset of a shared pool). */
function samplesOf(frame: Buffer): number[] {
  return Array.from(new Int16Array(Uint8Array.from(frame).buffer));
}

/**
 * The browser client against a plain `ws` server that plays the host's side of the protocol by hand, so the tests
 * can send what a real host never would (bad frames, dropped connections). `ws` stands in for the browser WebSocket.
 */
describe('WebSocketAgentClient', () => {
  let server: WebSocketServer;
  let url: string;
  let connections: ServerSocket[];
  let received: ClientFrame[];
  let binaryFrames: Buffer[];
  let client: WebSocketAgentClient;

  beforeEach(async () => {
    vi.stubGlobal('WebSocket', WebSocket);
    connections = [];
    received = [];
    binaryFrames = [];
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    server.on('connection', (socket) => {
      connections.push(socket);
      socket.on('message', (data, isBinary) => {
        if (isBinary) binaryFrames.push(data as Buffer);
        else received.push(ClientFrame.parse(JSON.parse(String(data))));
      });
    });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws?token=t`;
  });

  afterEach(async () => {
    client?.close();
    for (const socket of server.clients) socket.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    vi.unstubAllGlobals();
  });

  async function connected(): Promise<ServerSocket> {
    client = new WebSocketAgentClient(url);
    await vi.waitFor(() => expect(client.connectionState).toBe('open'));
    return connections.at(-1)!;
  }

  async function nextCall(): Promise<Extract<ClientFrame, { kind: 'call' }>> {
    return vi.waitFor(() => {
      const frame = received.find((candidate) => candidate.kind === 'call');
      if (!frame || frame.kind !== 'call') throw new Error('no call frame yet');
      received.splice(received.indexOf(frame), 1);
      return frame;
    });
  }

  it('resolves a call with the validated result', async () => {
    const hostSide = await connected();
    const result = client.call('chat:send', { text: 'hello' });
    const call = await nextCall();
    expect(call).toMatchObject({ command: 'chat:send', args: { text: 'hello' } });
    hostSide.send(JSON.stringify({ kind: 'result', id: call.id, value: { turnId: 't1', conversationId: 'c1' } }));
    await expect(result).resolves.toEqual({ turnId: 't1', conversationId: 'c1' });
  });

  it('rejects a result that does not match the command, and turns failure frames into AgentErrors', async () => {
    const hostSide = await connected();
    const badResult = client.call('conversations:list');
    hostSide.send(JSON.stringify({ kind: 'result', id: (await nextCall()).id, value: [{ id: 42 }] }));
    await expect(badResult).rejects.toMatchObject({ code: 'INVALID_MESSAGE' });

    const refused = client.call('chat:send', { text: '' });
    const error = { code: 'EMPTY_QUESTION', message: 'The question is empty.' };
    hostSide.send(JSON.stringify({ kind: 'failure', id: (await nextCall()).id, error }));
    const rejection = await refused.catch((reason: unknown) => reason);
    expect(rejection).toBeInstanceOf(AgentError);
    expect(rejection).toMatchObject(error);
  });

  it('drops invalid frames and keeps delivering valid events', async () => {
    const hostSide = await connected();
    const events: AgentEvent[] = [];
    client.listen((event) => events.push(event));
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    hostSide.send('{oops');
    hostSide.send(JSON.stringify({ kind: 'event', event: { type: 'token', turnId: 't1' } }));
    hostSide.send(JSON.stringify({ kind: 'event', event: { type: 'rm -rf' } }));
    hostSide.send(Buffer.from([1, 2, 3]), { binary: true });
    hostSide.send(JSON.stringify({ kind: 'event', event: { type: 'conversations-changed' } }));
    await vi.waitFor(() => expect(events).toEqual([{ type: 'conversations-changed' }]));
    expect(errors).toHaveBeenCalledTimes(3);
  });

  it('sends a cancel frame when the call is aborted', async () => {
    await connected();
    const controller = new AbortController();
    const pending = client.call('chat:cancel', { turnId: 't1' }, controller.signal);
    const call = await nextCall();
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
    await vi.waitFor(() => expect(received).toContainEqual({ kind: 'cancel', id: call.id }));
  });

  it('fails running calls when the connection drops, then reconnects', async () => {
    const first = await connected();
    const states: ConnectionState[] = [];
    client.onConnectionChange((state) => states.push(state));
    const pending = client.call('agent:status');
    await nextCall();

    first.terminate();
    await expect(pending).rejects.toThrow(/connection to the assistant dropped/);
    await expect(client.call('agent:status')).rejects.toThrow(/Not connected/);

    await vi.waitFor(() => expect(client.connectionState).toBe('open'), { timeout: 3000 });
    expect(states).toEqual(['closed', 'connecting', 'open']);
    expect(connections).toHaveLength(2);
    const again = client.call('conversations:list');
    connections[1]!.send(JSON.stringify({ kind: 'result', id: (await nextCall()).id, value: [] }));
    await expect(again).resolves.toEqual([]);
  });

  it('sends a mic frame as one binary frame holding exactly its samples, and drops frames while disconnected', async () => {
    const hostSide = await connected();
    const backing = Int16Array.from([9, 9, 1, -2, 32767, -32768, 9]);
    client.sendMicFrame(backing.subarray(2, 6));
    await vi.waitFor(() => expect(binaryFrames).toHaveLength(1));
    expect(samplesOf(binaryFrames[0]!)).toEqual([1, -2, 32767, -32768]);

    hostSide.terminate();
    await vi.waitFor(() => expect(client.connectionState).not.toBe('open'));
    expect(() => client.sendMicFrame(Int16Array.from([1, 2]))).not.toThrow();
    await vi.waitFor(() => expect(client.connectionState).toBe('open'), { timeout: 3000 });
    client.sendMicFrame(Int16Array.from([3, 4]));
    await vi.waitFor(() => expect(binaryFrames).toHaveLength(2));
    expect(samplesOf(binaryFrames[1]!)).toEqual([3, 4]);
  });
});
