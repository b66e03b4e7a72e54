import { describe, expect, it } from 'vitest';
import {
  AgentError,
  ServerFrame,
  type AgentEvent,
  type CommandArgs,
  type CommandName,
  type CommandResult,
} from '../../src-shared/contract/index.js';
import type { AgentLogger } from '../agent/agentLogger.js';
import type { AgentService, CallContext } from '../agent/agentService.js';
import { createCommandRouter, UNKNOWN_CALL_ID } from './commandRouter.js';

/**
 * A stand-in agent, named as such: the router's job is validation, limits, cancellation and error shapes, so this
 * agent only records what reached it. `conversations:messages` hangs until its AbortSignal fires (then rejects with a
 * plain Error, as an aborted fetch or stream would); `conversations:delete` throws the AgentError or Error it is told
 * to; `chat:send` answers with a new turn id at once and keeps the call's signal, which cancels that turn; `emit`
 * sends the events a real turn would end with.
 */
class FakeAgentForRouterTest implements AgentService {
  readonly calls: Array<{ command: CommandName; args: unknown; context: CallContext | undefined }> = [];
  readonly aborted: unknown[] = [];
  readonly turnSignals = new Map<string, AbortSignal>();
  private readonly listeners = new Set<(event: AgentEvent) => void>();
  failWith: unknown;

  async call<C extends CommandName>(command: C, args?: CommandArgs<C>, signal?: AbortSignal, context?: CallContext): Promise<CommandResult<C>> {
    this.calls.push({ command, args, context });
    if (command === 'chat:send') {
      const turnId = `turn-${this.turnSignals.size + 1}`;
      this.turnSignals.set(turnId, signal!);
      return { turnId, conversationId: 'c-1' } as CommandResult<C>;
    }
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

  listen(listener: (event: AgentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: AgentEvent): void {
    for (const listener of this.listeners) listener(event);
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
    expect(agent.calls).toEqual([{ command: 'conversations:list', args: undefined, context: { caller: client.id } }]);
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

  it('names each client as the caller of its calls, so its questions take turns with other clients\'', async () => {
    const agent = new FakeAgentForRouterTest();
    const router = createCommandRouter(agent);
    const [first, second] = [router.connect(), router.connect()];
    await first.receive(call(1, 'chat:send', { text: 'hi' }));
    await second.receive(call(1, 'chat:send', { text: 'hi' }));
    expect(first.id).not.toBe(second.id);
    expect(agent.calls.map((c) => c.context)).toEqual([{ caller: first.id }, { caller: second.id }]);
  });

  it('refuses calls over the token bucket with RATE_LIMITED and when to retry, per client; cancel frames always pass', async () => {
    const agent = new FakeAgentForRouterTest();
    let now = 0;
    const router = createCommandRouter(agent, { limits: { burstCalls: 5, callsPerSecond: 10 }, now: () => now });
    const flooding = router.connect();
    const quiet = router.connect();
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => flooding.receive(call(i, 'conversations:list'))));
    expect(replies.slice(0, 5).every((reply) => reply?.kind === 'result')).toBe(true);
    for (const reply of replies.slice(5)) {
      expect(reply).toMatchObject({ kind: 'failure', error: { code: 'RATE_LIMITED', retryAfterMs: 100, message: expect.stringContaining('Try again in 0.1 s') } });
    }
    // Malformed frames cost a token too; cancel frames cost nothing and are still handled.
    expect(await flooding.receive('not a frame')).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    const hanging = flooding.receive(call(1, 'conversations:messages', { id: 'x' }));
    expect(await hanging).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect(await quiet.receive(call(1, 'conversations:list'))).toMatchObject({ kind: 'result' });

    now = 250; // two tokens back
    const running = flooding.receive(call(20, 'conversations:messages', { id: 'y' }));
    expect(await flooding.receive({ kind: 'cancel', id: 20 })).toBeUndefined();
    expect(await running).toMatchObject({ error: { code: 'CANCELLED' } });
    expect(await flooding.receive(call(21, 'conversations:list'))).toMatchObject({ kind: 'result' });
    expect(await flooding.receive(call(22, 'conversations:list'))).toMatchObject({ error: { code: 'RATE_LIMITED', retryAfterMs: 50 } });
  });

  it('keeps at most `openTurns` questions of a client unfinished; a question ending (done, error, blocked) makes room', async () => {
    const agent = new FakeAgentForRouterTest();
    const router = createCommandRouter(agent, { limits: { openTurns: 2, openTurnsRetryAfterMs: 1500 } });
    const client = router.connect();
    const other = router.connect();
    const ask = (id: number, who = client) => who.receive(call(id, 'chat:send', { text: `question ${id}` }));
    expect(await Promise.all([ask(1), ask(2)])).toMatchObject([{ kind: 'result' }, { kind: 'result' }]);
    expect(client.openTurns).toBe(2);
    const refused = await ask(3);
    expect(refused).toMatchObject({ error: { code: 'RATE_LIMITED', retryAfterMs: 1500, message: expect.stringContaining('2 of your questions are still being answered') } });
    // Other commands, and other clients' questions, still go through.
    expect(await client.receive(call(4, 'conversations:list'))).toMatchObject({ kind: 'result' });
    expect(await ask(1, other)).toMatchObject({ kind: 'result' });

    agent.emit({ type: 'error', turnId: 'turn-1', conversationId: 'c-1', code: 'GENERATION_FAILED', message: 'x' });
    expect(client.openTurns).toBe(1);
    expect(await ask(5)).toMatchObject({ kind: 'result', value: { turnId: 'turn-4' } });
    agent.emit({ type: 'blocked', turnId: 'turn-2', conversationId: 'c-1', guard: 'pii', reason: 'r' });
    agent.emit({ type: 'token', turnId: 'turn-4', conversationId: 'c-1', text: 'not an end' });
    expect(client.openTurns).toBe(1);
    const timings = { ttftMs: 1, totalMs: 2, tokens: 1, tokensPerSecond: null };
    agent.emit({ type: 'done', turnId: 'turn-4', conversationId: 'c-1', text: '', cached: false, interrupted: false, provider: 'embedded', model: 'm', timings, citations: [] });
    expect(client.openTurns).toBe(0);
    expect(agent.turnSignals.get('turn-1')!.aborted).toBe(false);
  });

  it("cancels a client's unfinished questions when it goes away, and only that client's", async () => {
    const agent = new FakeAgentForRouterTest();
    const router = createCommandRouter(agent);
    const leaving = router.connect();
    const staying = router.connect();
    await leaving.receive(call(1, 'chat:send', { text: 'a' }));
    await leaving.receive(call(2, 'chat:send', { text: 'b' }));
    await staying.receive(call(1, 'chat:send', { text: 'c' }));
    const timings = { ttftMs: 1, totalMs: 2, tokens: 1, tokensPerSecond: null };
    agent.emit({ type: 'done', turnId: 'turn-1', conversationId: 'c-1', text: '', cached: false, interrupted: false, provider: 'embedded', model: 'm', timings, citations: [] });

    leaving.disconnect();
    const aborted = (turnId: string) => agent.turnSignals.get(turnId)!.aborted;
    // turn-1 had ended, so there was nothing to cancel; turn-2 was still open.
    expect([aborted('turn-1'), aborted('turn-2'), aborted('turn-3')]).toEqual([false, true, false]);
    expect(leaving.openTurns).toBe(0);
    expect(staying.openTurns).toBe(1);
  });

  it('audits rate limits as entries of their own, the repeats of a flood counted into one entry', async () => {
    const agent = new FakeAgentForRouterTest();
    const entries: object[] = [];
    const logger: AgentLogger = { debug: () => undefined, info: () => undefined, error: () => undefined, warn: (fields) => entries.push(fields) };
    const router = createCommandRouter(agent, { limits: { burstCalls: 1, callsPerSecond: 1 }, logger, now: () => 0 });
    const client = router.connect();
    for (let i = 0; i < 50; i++) await client.receive(call(i, 'chat:send', { text: 'my secret question' }));
    expect(entries).toEqual([{ audit: 'rate-limited', client: client.id, limit: 'calls', command: 'chat:send', retryAfterMs: 1000 }]);
    // A command name is the client's own string: only a real command is named.
    const junk = await client.receive(call(60, 'my secret '.repeat(1000)));
    expect(junk).toMatchObject({ error: { code: 'RATE_LIMITED', message: expect.stringMatching(/^Too many requests: an unknown command was not run/) } });
    router.close();
    expect(entries).toEqual([
      { audit: 'rate-limited', client: client.id, limit: 'calls', command: 'chat:send', retryAfterMs: 1000 },
      { audit: 'rate-limited', client: client.id, limit: 'calls', command: 'an unknown command', retryAfterMs: 1000, repeats: 49 },
    ]);
    expect(JSON.stringify(entries)).not.toContain('secret');
  });
});
