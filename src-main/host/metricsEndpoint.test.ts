import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ServerFrame, type AgentEvent } from '../../src-shared/contract/index.js';
import { createAgent } from '../app/createAgent.node.js';
import { createRecoverableAgent } from '../app/recoverableAgent.node.js';
import { TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';
import { writeRandomBytesDatabase } from '../testing/badDataDirs.js';
import { startHeadlessHost, type HeadlessHost } from './headlessHost.node.js';

const staticDir = mkdtempSync(path.join(os.tmpdir(), 'metrics-static-'));
writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>Assistant</title>');

async function getMetrics(host: HeadlessHost, query = '', headers: Record<string, string> = {}) {
  const response = await fetch(`http://127.0.0.1:${host.port}/metrics${query}`, { headers });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

/** Asks one question the way the browser UI does (a call frame over the WebSocket) and waits for its `done` event. */
async function askOverWebSocket(host: HeadlessHost, text: string): Promise<Extract<AgentEvent, { type: 'done' }>> {
  const socket = new WebSocket(`ws://127.0.0.1:${host.port}/ws?token=${host.token}`, { origin: `http://127.0.0.1:${host.port}` });
  try {
    return await new Promise((resolve, reject) => {
      let turnId: string | undefined;
      const early: AgentEvent[] = [];
      socket.on('message', (data) => {
        const frame = ServerFrame.parse(JSON.parse(String(data)));
        if (frame.kind === 'failure') reject(new Error(`${frame.error.code}: ${frame.error.message}`));
        if (frame.kind === 'result') {
          turnId = (frame.value as { turnId: string }).turnId;
          const done = early.find((event) => event.type === 'done' && event.turnId === turnId);
          if (done?.type === 'done') resolve(done);
        }
        if (frame.kind === 'event' && frame.event.type === 'done') {
          if (frame.event.turnId === turnId) resolve(frame.event);
          else early.push(frame.event);
        }
        if (frame.kind === 'event' && frame.event.type === 'error' && frame.event.turnId === turnId) reject(new Error(frame.event.message));
      });
      socket.once('error', reject);
      socket.once('open', () => socket.send(JSON.stringify({ kind: 'call', id: 1, command: 'chat:send', args: { text } })));
    });
  } finally {
    socket.close();
  }
}

afterAll(() => rmSync(staticDir, { recursive: true, force: true }));

describe('GET /metrics on the headless host (real agent, real model)', () => {
  const dataDir = tempDataDir('metrics-endpoint-');
  let agent: ReturnType<typeof createAgent>;
  let host: HeadlessHost;

  beforeAll(async () => {
    agent = createAgent({
      config: { dataDir, maxAnswerTokens: 16, voice: { enabled: false }, llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 } },
    });
    await agent.whenReady();
    host = await startHeadlessHost({ agent, port: 0, staticDir });
  });

  afterAll(async () => {
    await host?.close();
    await agent?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the stage histograms in Prometheus text format with the token, after a question was answered', async () => {
    const done = await askOverWebSocket(host, 'Once upon a time');
    expect(done.text.length).toBeGreaterThan(0);

    for (const withToken of [{ headers: { Authorization: `Bearer ${host.token}` } }, { query: `?token=${host.token}` }]) {
      const metrics = await getMetrics(host, withToken.query, withToken.headers);
      expect(metrics.status).toBe(200);
      expect(metrics.type).toBe('text/plain; version=0.0.4; charset=utf-8');
      const count = /^assistant_stage_duration_seconds_count\{stage="generate"\} (\d+)$/m.exec(metrics.body);
      expect(count, metrics.body.slice(0, 2000)).not.toBeNull();
      expect(Number(count![1])).toBeGreaterThanOrEqual(1);
    }
  });

  it('refuses without the token, or with a wrong one: 401 and nothing else', async () => {
    const refusals = [
      await getMetrics(host),
      await getMetrics(host, '?token='),
      await getMetrics(host, '?token=wrong'),
      await getMetrics(host, `?token=${host.token}x`),
      await getMetrics(host, '', { Authorization: 'Bearer wrong' }),
      await getMetrics(host, '', { Authorization: `Basic ${host.token}` }),
      // A wrong header is not rescued by a right query token: the header is what was presented.
      await getMetrics(host, `?token=${host.token}`, { Authorization: 'Bearer wrong' }),
    ];
    for (const refusal of refusals) {
      expect(refusal.status).toBe(401);
      expect(refusal.body).toBe('');
    }
  });
});

describe('GET /metrics while the agent is in recovery mode', () => {
  it('answers 503 with a one-line reason (and still 401 without the token)', async () => {
    const dataDir = tempDataDir('metrics-recovery-');
    writeRandomBytesDatabase(dataDir);
    const agent = createRecoverableAgent({ config: { dataDir, voice: { enabled: false } } });
    const host = await startHeadlessHost({ agent, port: 0, staticDir });
    try {
      expect(agent.problem?.code).toBe('DATABASE_CORRUPT');
      const metrics = await getMetrics(host, `?token=${host.token}`);
      expect(metrics.status).toBe(503);
      expect(metrics.body).toBe('No metrics: the assistant is in recovery mode (DATABASE_CORRUPT).\n');
      expect((await getMetrics(host)).status).toBe(401);
    } finally {
      await host.close();
      await agent.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
