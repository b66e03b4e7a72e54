import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StageRecord } from '../agent/turn/turnObserver.js';

/**
 * Prometheus metrics of the turn pipeline (prom-client): a duration histogram per stage, and a counter of stages
 * over their slow threshold. Served by the headless host at /metrics.
 */
export class StageMetrics {
  readonly registry = new Registry();
  private readonly durations = new Histogram({
    name: 'assistant_stage_duration_seconds',
    help: 'Duration of each stage of a turn (prepare steps, generate, first token, first sentence, stt, tts).',
    labelNames: ['stage'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly slow = new Counter({
    name: 'assistant_slow_stages_total',
    help: 'Stages that took longer than their configured threshold.',
    labelNames: ['stage'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'assistant_' });
  }

  record(stage: StageRecord): void {
    this.durations.observe({ stage: stage.name }, (stage.endMs - stage.startMs) / 1000);
    if (stage.slow) this.slow.inc({ stage: stage.name });
  }

  /** The Prometheus text exposition format. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
