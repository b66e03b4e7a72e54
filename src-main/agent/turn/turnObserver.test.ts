import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../src-shared/contract/index.js';
import type { AgentLogger } from '../agentLogger.js';
import { TurnObserver, type StageRecord } from './turnObserver.js';

/** A logger that keeps its warnings, to see which stages were called slow. */
function keptWarnings(): { logger: AgentLogger; warnings: Array<Record<string, unknown>> } {
  const warnings: Array<Record<string, unknown>> = [];
  const ignore = () => undefined;
  const logger = { debug: ignore, info: ignore, error: ignore, warn: (fields: Record<string, unknown>) => warnings.push(fields) } as unknown as AgentLogger;
  return { logger, warnings };
}

describe('TurnObserver: slow stages', () => {
  it('measures a stage of one model (council-2:qwen #1) against its kind’s threshold (council-2), and warns past it', () => {
    const { logger, warnings } = keptWarnings();
    const records: StageRecord[] = [];
    const events: AgentEvent[] = [];
    const observer = new TurnObserver({ emit: (event) => events.push(event), logger, slowStageMs: { 'council-2': 1_000 }, onStageEnd: (record) => records.push(record) });
    const timeline = observer.begin('turn-1', 0);
    timeline.record('council-2:qwen #1', 10, 2_010);
    timeline.record('council-2:qwen #2', 10, 510);
    timeline.record('council-1:qwen #1', 10, 99_000);
    expect(warnings).toEqual([expect.objectContaining({ stage: 'council-2:qwen #1', thresholdMs: 1_000 })]);
    expect(records.map((record) => [record.name, record.slow])).toEqual([
      ['council-2:qwen #1', true],
      ['council-2:qwen #2', false],
      ['council-1:qwen #1', false],
    ]);
  });
});
