import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ServerFrame, type AgentEvent, type CommandArgs, type CommandName, type CommandResult } from '../../src-shared/contract/index.js';
import type { CallContext } from '../agent/agentService.js';
import { createAgent, type Agent } from '../app/createAgent.node.js';
import { TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';
import { startHeadlessHost, type HeadlessHost, type HostedAgent } from './headlessHost.node.js';

/** What happened inside the host, in order: the agent's events, and the moments the router cancelled a client's question. */
type Happening = { kind: 'event'; event: AgentEvent } | { kind: 'cancelled'; turnId: string };

/**
 * Conditions re-checked whenever something happens (an agent event, a frame on a socket), each with a deadline: the
 * test waits on what the host does, never on a timer.
 */
class Conditions {
  private readonly pending = new Set<() => void>();

  wake(): void {
    for (const check of [...this.pending]) check();
  }

  until(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(check);
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.pending.delete(check);
        resolve();
      };
      this.pending.add(check);
      check();
    });
  }
}

/** A WebSocket client of the host, as the browser UI is: call frames out, replies and broadcast events in. */
class WireClient {
  readonly replies = new Map<number, Extract<ServerFrame, { kind: 'result' | 'failure' }>>();
  onReply: (id: number) => void = () => undefined;

  private constructor(
    readonly socket: WebSocket,
    conditions: Conditions,
  ) {
    socket.on('message', (data) => {
      const frame = ServerFrame.parse(JSON.parse(String(data)));
      if (frame.kind !== 'event') {
        this.replies.set(frame.id, frame);
        this.onReply(frame.id);
      }
      conditions.wake();
    });
  }

  static async connect(host: HeadlessHost, conditions: Conditions): Promise<WireClient> {
    const socket = new WebSocket(`ws://127.0.0.1:${host.port}/ws?token=${host.token}`, { origin: `http://127.0.0.1:${host.port}` });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new WireClient(socket, conditions);
  }

  ask(id: number, text: string): void {
    this.socket.send(JSON.stringify({ kind: 'call', id, command: 'chat:send', args: { text } }));
  }

  turnIdOf(id: number): string | undefined {
    const reply = this.replies.get(id);
    return reply?.kind === 'result' ? (reply.value as { turnId: string }).turnId : undefined;
  }
}

const staticDir = mkdtempSync(path.join(os.tmpdir(), 'host-load-static-'));
writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>Assistant</title>');
afterAll(() => rmSync(staticDir, { recursive: true, force: true }));

describe('one connection flooding the headless host (real agent, real model)', () => {
  const dataDir = tempDataDir('host-load-');
  const conditions = new Conditions();
  const happenings: Happening[] = [];
  let agent: Agent;
  let host: HeadlessHost;

  beforeAll(async () => {
    agent = createAgent({
      config: {
        dataDir,
        maxAnswerTokens: 128,
        voice: { enabled: false },
        documents: { enabled: false },
        guards: { enabled: false },
        llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 },
      },
    });
    await agent.whenReady();
    agent.listen((event) => {
      happenings.push({ kind: 'event', event });
      conditions.wake();
    });
    // The real agent, as the host sees it; it also notes when the router cancels a question (the call that started it aborts).
    const hosted: HostedAgent = {
      async call<C extends CommandName>(command: C, args?: CommandArgs<C>, signal?: AbortSignal, context?: CallContext): Promise<CommandResult<C>> {
        const value = await agent.call(command, args, signal, context);
        if (command === 'chat:send' && signal) {
          const { turnId } = value as CommandResult<'chat:send'>;
          signal.addEventListener('abort', () => happenings.push({ kind: 'cancelled', turnId }), { once: true });
        }
        return value;
      },
      listen: (listener) => agent.listen(listener),
      whenReady: () => agent.whenReady(),
      close: () => agent.close(),
      logger: agent.logger,
      metrics: agent.metrics,
    };
    host = await startHeadlessHost({ agent: hosted, port: 0, staticDir });
  });

  afterAll(async () => {
    await host?.close();
    await agent?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const eventsOf = (turnId: string) =>
    happenings.flatMap((happening, index) => (happening.kind === 'event' && 'turnId' in happening.event && happening.event.turnId === turnId ? [{ index, event: happening.event }] : []));
  const endOf = (turnId: string) => eventsOf(turnId).find(({ event }) => event.type === 'done' || event.type === 'error' || event.type === 'blocked');
  /** Turns waiting for the model at a point in `happenings`: their `model-queue` stage has started and not ended. */
  const waitingForModelAt = (until: number) => {
    const waiting = new Set<string>();
    for (const happening of happenings.slice(0, until)) {
      if (happening.kind !== 'event' || happening.event.type !== 'stage' || happening.event.name !== 'model-queue') continue;
      if (happening.event.phase === 'start') waiting.add(happening.event.turnId);
      else waiting.delete(happening.event.turnId);
    }
    return waiting;
  };

  it('refuses most of a flood with RATE_LIMITED, answers another connection first, and cancels the flood when it closes', { timeout: 180_000 }, async () => {
    // A page from another site is refused (and audited) before it can flood anything.
    const foreign = new WebSocket(`ws://127.0.0.1:${host.port}/ws?token=${host.token}`, { origin: 'http://evil.example' });
    foreign.on('error', () => undefined); // ws reports the refusal as an error too
    const foreignStatus = await new Promise<number>((resolve) => foreign.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0)));
    foreign.terminate();
    expect(foreignStatus).toBe(403);

    const flood = await WireClient.connect(host, conditions);
    const quiet = await WireClient.connect(host, conditions);

    // 2,000 questions at once, each different (no cache hit, no shared generation).
    const FLOOD = 2_000;
    for (let id = 0; id < FLOOD; id++) flood.ask(id, `Tell me a story about the number ${id}`);
    await conditions.until(() => flood.replies.size === FLOOD, 'a reply to every flooded call', 60_000);
    const replies = [...flood.replies.values()];
    const accepted = replies.filter((reply) => reply.kind === 'result');
    const limited = replies.flatMap((reply) => (reply.kind === 'failure' && reply.error.code === 'RATE_LIMITED' ? [reply.error] : []));
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    expect(accepted.length).toBeLessThanOrEqual(20);
    expect(limited.length).toBe(FLOOD - accepted.length);
    for (const error of limited) {
      expect(error.retryAfterMs).toBeGreaterThan(0);
      expect(error.message).toMatch(/Try again in|Ask again when one of them is done/);
    }
    expect(limited.some((error) => error.message.includes('Too many requests'))).toBe(true);
    expect(limited.some((error) => error.message.includes('still being answered'))).toBe(true);

    // The flood goes on: every reply is answered with another question.
    let nextId = FLOOD;
    let flooding = true;
    flood.onReply = () => {
      if (flooding && flood.socket.readyState === WebSocket.OPEN) flood.ask(nextId, `Tell me a story about the number ${nextId++}`);
    };
    flood.ask(nextId, `Tell me a story about the number ${nextId++}`);
    await conditions.until(() => waitingForModelAt(happenings.length).size >= 2, 'two flooded questions waiting for the model', 60_000);

    const asked = performance.now();
    quiet.ask(1, 'Once upon a time there was a quiet little owl');
    await conditions.until(() => quiet.turnIdOf(1) !== undefined, "the quiet connection's turn id", 30_000);
    const quietTurn = quiet.turnIdOf(1)!;
    await conditions.until(() => endOf(quietTurn) !== undefined, "the quiet connection's answer", 60_000);
    const quietMs = performance.now() - asked;
    console.log(`quiet connection's answer while another floods: ${quietMs.toFixed(0)} ms (${nextId - FLOOD} more flooded calls meanwhile)`);
    const quietEnd = endOf(quietTurn)!;
    expect(quietEnd.event).toMatchObject({ type: 'done', interrupted: false });

    // Round robin: the quiet question went before every flooded question that was already waiting for the model.
    const quietQueued = eventsOf(quietTurn).find(({ event }) => event.type === 'stage' && event.name === 'model-queue' && event.phase === 'start');
    expect(quietQueued, 'the quiet question waited for the model (a flooded answer was being generated)').toBeDefined();
    const aheadOfIt = [...waitingForModelAt(quietQueued!.index)];
    expect(aheadOfIt.length).toBeGreaterThanOrEqual(1);
    for (const turnId of aheadOfIt) expect(endOf(turnId)?.index ?? Infinity).toBeGreaterThan(quietEnd.index);
    // The flooded answer that was being generated gave the model up to it, a few tokens after the quiet question came,
    // instead of running to its end first.
    const running = [...flood.replies.keys()]
      .flatMap((id) => flood.turnIdOf(id) ?? [])
      .find(
        (turnId) =>
          eventsOf(turnId).some(({ index, event }) => event.type === 'token' && index < quietQueued!.index) &&
          (endOf(turnId)?.index ?? Infinity) > quietQueued!.index,
      );
    expect(running, 'a flooded answer was streaming when the quiet question came').toBeDefined();
    const quietTokens = eventsOf(quietTurn).filter(({ event }) => event.type === 'token').map(({ index }) => index);
    const runningTokensDuringQuiet = eventsOf(running!).filter(({ index, event }) => event.type === 'token' && index > quietTokens[0]! && index < quietTokens.at(-1)!);
    expect(runningTokensDuringQuiet, 'tokens of the flooded answer while the quiet one was streaming').toEqual([]);
    expect(endOf(running!)?.index ?? Infinity, 'the flooded answer ended only after the quiet one had started').toBeGreaterThan(quietTokens[0]!);
    const runningEnd = endOf(running!);
    if (runningEnd?.event.type === 'done' && !runningEnd.event.interrupted) {
      // It went on from where it stopped: what streamed is exactly its answer, with nothing said twice.
      const streamed = eventsOf(running!).flatMap(({ event }) => (event.type === 'token' ? [event.text] : [])).join('');
      expect(streamed).toBe(runningEnd.event.text);
    }

    // The flooding connection closes: its questions still waiting or being answered are cancelled.
    flooding = false;
    const floodTurns = [...flood.replies.keys()].flatMap((id) => flood.turnIdOf(id) ?? []);
    const openAtClose = floodTurns.filter((turnId) => endOf(turnId) === undefined);
    expect(openAtClose.length).toBeGreaterThanOrEqual(1);
    flood.socket.close();
    await conditions.until(() => openAtClose.every((turnId) => endOf(turnId) !== undefined), "every open flooded question's end", 30_000);
    const cancelledAt = new Map(happenings.flatMap((happening, index) => (happening.kind === 'cancelled' ? [[happening.turnId, index] as const] : [])));
    let stopped = 0;
    for (const turnId of openAtClose) {
      const cancelled = cancelledAt.get(turnId);
      const end = endOf(turnId)!;
      // Ended on its own before the close reached the router: nothing to cancel.
      if (cancelled === undefined || end.index < cancelled) continue;
      stopped++;
      expect(end.event).toMatchObject({ type: 'done', interrupted: true });
      const tokensAfter = eventsOf(turnId).filter(({ index, event }) => event.type === 'token' && index > cancelled);
      expect(tokensAfter, `tokens streamed for ${turnId} after its connection closed`).toEqual([]);
    }
    expect(stopped).toBeGreaterThanOrEqual(1);
    // What had been generated is kept, marked interrupted, as after a cancel.
    const partial = openAtClose.map((turnId) => endOf(turnId)!.event).find((event) => event.type === 'done' && event.interrupted && event.text !== '');
    if (partial?.type === 'done') {
      const messages = await agent.call('conversations:messages', { id: partial.conversationId });
      expect(messages.find((message) => message.role === 'assistant')).toMatchObject({ status: 'interrupted', text: partial.text });
    }

    // Audit entries in the log file: the refused Origin and the rate limit, with no question text in them.
    quiet.socket.close();
    await host.close();
    await agent.close();
    const logDir = path.join(dataDir, 'logs');
    const lines = readdirSync(logDir).flatMap((file) => readFileSync(path.join(logDir, file), 'utf8').split('\n').filter(Boolean));
    const audits = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.audit !== undefined);
    expect(audits).toContainEqual(expect.objectContaining({ audit: 'origin-refused', endpoint: '/ws', status: 403, origin: 'http://evil.example' }));
    expect(audits).toContainEqual(expect.objectContaining({ audit: 'rate-limited', limit: 'calls', command: 'chat:send', client: expect.any(String) }));
    expect(audits).toContainEqual(expect.objectContaining({ audit: 'rate-limited', limit: 'open-turns', repeats: expect.any(Number) }));
    expect(audits.length).toBeLessThan(100);
    expect(JSON.stringify(audits)).not.toMatch(/story|owl/);
  });
});
