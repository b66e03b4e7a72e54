import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAgent } from './createAgent.node.js';
import { StageMetrics } from './stageMetrics.node.js';
import { collectTurnEvents, TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';

describe('StageMetrics', () => {
  it('counts stages over their threshold per stage, and times every stage', async () => {
    const metrics = new StageMetrics();
    metrics.record({ turnId: 't1', name: 'generate', startMs: 10, endMs: 1210, slow: true });
    metrics.record({ turnId: 't1', name: 'history', startMs: 0, endMs: 2, slow: false });
    const { contentType, body } = await metrics.text();
    expect(contentType).toMatch(/^text\/plain/);
    expect(body).toContain('assistant_slow_stages_total{stage="generate"} 1');
    expect(body).not.toContain('assistant_slow_stages_total{stage="history"}');
    expect(body).toContain('assistant_stage_duration_seconds_count{stage="generate"} 1');
    expect(body).toContain('assistant_stage_duration_seconds_sum{stage="generate"} 1.2');
    expect(body).toContain('assistant_stage_duration_seconds_count{stage="history"} 1');
  });
});

describe('slow stages on the real agent (stories260K)', () => {
  it('a stage over its threshold writes a structured warning with the turn id and is counted in the metrics', async () => {
    const dataDir = tempDataDir();
    const agent = createAgent({
      config: {
        dataDir,
        voice: { enabled: false },
        llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 },
        // Every generation is slower than 0 ms; no other stage is slow, however loaded the machine.
        slowStageMs: { generate: 0, provider: 60_000, history: 60_000, cache: 60_000, 'first-token': 60_000, 'first-sentence': 60_000 },
      },
    });
    let turnId: string;
    try {
      const events = collectTurnEvents(agent);
      await agent.whenReady();
      const started = await agent.call('chat:send', { text: 'Once upon a time' });
      turnId = started.turnId;
      const turn = await events.forTurn(turnId);
      expect(turn.error).toBeUndefined();
      const { body } = await agent.metrics.text();
      expect(body).toContain('assistant_slow_stages_total{stage="generate"} 1');
      expect(body).not.toContain('assistant_slow_stages_total{stage="history"}');
    } finally {
      await agent.close();
    }

    const logDir = path.join(dataDir, 'logs');
    const lines = readdirSync(logDir)
      .filter((name) => name.endsWith('.log'))
      .flatMap((name) => readFileSync(path.join(logDir, name), 'utf8').split('\n'))
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const slow = lines.filter((line) => line.msg === 'slow stage');
    expect(slow).toHaveLength(1);
    expect(slow[0]).toMatchObject({ level: 40, turnId, stage: 'generate', ms: expect.any(Number), thresholdMs: 0 });
    expect(slow[0]!.ms as number).toBeGreaterThan(0);
  });
});
