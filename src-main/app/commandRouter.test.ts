import { describe, expect, it } from 'vitest';
import {
  AgentError,
  ServerFrame,
  type AgentEvent,
  type CommandArgs,
  type CommandName,
  type CommandResult,
} from '../../src-shared/contract/index.js';
import type { AgentService } from '../agent/agentService.js';
import { createCommandRouter, UNKNOWN_CALL_ID } from './commandRouter.js';

/**
 * A stand-in agent, named as such: the router's job is validation, cancellation and error shapes, so this agent only
 * records what reached it. `conversations:messages` hangs until its AbortSignal fires (then rejects with a plain Error, as
 * an aborted fetch or stream would); `conversations:delete` throws the AgentError or Error it is told to.
 */
class FakeAgentForRouterTest implements AgentService {
  readonly calls: Array<{ command: CommandName; args: unknown }> = [];
  readonly aborted: unknown[] = [];
  failWith: unknown;

  async call<C extends CommandName>(command: C, args?: CommandArgs<C>, signal?: AbortSignal): Promise<CommandResult<C>> {
    this.calls.push({ command, args });
    if (command === 'conversations:messages') {
      return new Promise((_resolve, reject) => {
        signal?.addEventListener('abort', () => {
          this.aborted.push(args);
          reject(new Error('The operation was aborted'));
        });
      });
    }
    if (command === 'conversations:delete') throw this.failWith;
    return [] as unknown as CommandResult<C>;
  }

  listen(_listener: (event: AgentEvent) => void): () => void {
    return () => undefined;
  }

  async whenReady(): Promise<void> {}
  async close(): Promise<void> {}
}

const call = (id: number, command: string, args?: unknown) => ({ kind: 'call', id, command, args });

describe('command router', () => {
  it('passes a valid call to the agent and answers with a result frame', async () => {
    const agent = new FakeAgentForRouterTest();
    const client = createCommandRouter(agent).connect();
    const reply = await client.receive(call(1, 'conversations:list'));
    expect(reply).toEqual({ kind: 'result', id: 1, value: [] });
    expect(ServerFrame.parse(reply)).toEqual(reply);
    expect(agent.calls).toEqual([{ command: 'conversations:list', args: undefined }]);
  });

  it('refuses malformed frames, unknown commands and bad arguments before the agent sees them', async () => {
    const agent = new FakeAgentForRouterTest();
    const client = createCommandRouter(agent).connect();
    expect(await client.receive('not a frame')).toMatchObject({ kind: 'failure', id: UNKNOWN_CALL_ID, error: { code: 'INVALID_MESSAGE' } });
    const noCommand = await client.receive({ kind: 'call', id: 2 });
    expect(noCommand).toMatchObject({ kind: 'failure', id: 2, error: { code: 'INVALID_MESSAGE', message: expect.stringContaining('command') } });
    expect(await client.receive(call(3, 'files:delete-everything', {}))).toMatchObject({ id: 3, error: { code: 'UNKNOWN_COMMAND' } });
    const badArgs = await client.receive(call(4, 'chat:send', { text: 42 }));
    expect(badArgs).toMatchObject({ id: 4, error: { code: 'INVALID_MESSAGE', message: expect.stringContaining('text') } });
    expect(agent.calls).toEqual([]);
  });

  it('turns failures into plain {code, message} objects: no class instance, no stack', async () => {
    const agent = new FakeAgentForRouterTest();
    const client = createCommandRouter(agent).connect();
    agent.failWith = new AgentError('NOT_FOUND', 'No conversation c-1.');
    const known = await client.receive(call(1, 'conversations:delete', { id: 'c-1' }));
    expect(known).toEqual({ kind: 'failure', id: 1, error: { code: 'NOT_FOUND', message: 'No conversation c-1.' } });
    expect(Object.getPrototypeOf(known!.kind === 'failure' && known!.error)).toBe(Object.prototype);

    agent.failWith = new TypeError('x is undefined');
    expect(await client.receive(call(2, 'conversations:delete', { id: 'c-1' }))).toEqual({
      kind: 'failure',
      id: 2,
      error: { code: 'INTERNAL', message: 'x is undefined' },
    });
    expect(JSON.stringify(await client.receive(call(3, 'conversations:delete', { id: 'c-1' })))).not.toContain('at ');
  });

  it('aborts a call when its cancel frame arrives, and answers it with CANCELLED', async () => {
    const agent = new FakeAgentForRouterTest();
    const client = createCommandRouter(agent).connect();
    const pending = client.receive(call(9, 'conversations:messages', { id: 'c-9' }));
    expect(client.inFlight).toBe(1);
    expect(await client.receive(call(9, 'conversations:list'))).toMatchObject({ id: 9, error: { code: 'INVALID_MESSAGE', message: expect.stringContaining('already in use') } });
    expect(await client.receive({ kind: 'cancel', id: 9 })).toBeUndefined();
    expect(await pending).toEqual({ kind: 'failure', id: 9, error: { code: 'CANCELLED', message: 'conversations:messages was cancelled.' } });
    expect(agent.aborted).toEqual([{ id: 'c-9' }]);
    expect(client.inFlight).toBe(0);
    // A cancel for a call that is not running is ignored.
    expect(await client.receive({ kind: 'cancel', id: 123 })).toBeUndefined();
  });

  it("cancels a client's running calls when it goes away, and only that client's", async () => {
    const agent = new FakeAgentForRouterTest();
    const router = createCommandRouter(agent);
    const leaving = router.connect();
    const staying = router.connect();
    const first = leaving.receive(call(1, 'conversations:messages', { id: 'a' }));
    const second = leaving.receive(call(2, 'conversations:messages', { id: 'b' }));
    const other = staying.receive(call(1, 'conversations:messages', { id: 'c' }));
    expect([leaving.inFlight, staying.inFlight]).toEqual([2, 1]);

    leaving.disconnect();
    expect(await first).toMatchObject({ id: 1, error: { code: 'CANCELLED' } });
    expect(await second).toMatchObject({ id: 2, error: { code: 'CANCELLED' } });
    expect(agent.aborted).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(staying.inFlight).toBe(1);
    // Nothing new runs for a client that has gone.
    expect(await leaving.receive(call(3, 'conversations:list'))).toMatchObject({ id: 3, error: { code: 'CANCELLED' } });
    expect(agent.calls.filter((c) => c.command === 'conversations:list')).toEqual([]);

    staying.disconnect();
    expect(await other).toMatchObject({ id: 1, error: { code: 'CANCELLED' } });
  });
});
