import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentEvent, DoneEvent } from '../../src-shared/contract/index.js';
import type { AgentService } from '../agent/agentService.js';
import { resolveAgentConfig, type AgentConfigOverrides } from '../agent/agentConfig.node.js';
import type { LlmGenerateRequest, LlmGenerateResult } from '../agent/llm/llmProvider.js';
import type { LlmProviderFactories } from '../agent/llm/llmProviderManager.node.js';
import { realLlmFactories } from '../app/realLlmFactories.node.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The real test GGUF: ASSISTANT_TEST_LLM_MODEL, else ../shared/models/llm/stories260K.gguf beside the project. */
export const TEST_LLM_MODEL =
  process.env.ASSISTANT_TEST_LLM_MODEL ?? path.resolve(here, '../../../shared/models/llm/stories260K.gguf');

export function tempDataDir(prefix = 'assistant-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface CollectedTurn {
  tokens: { text: string; at: number }[];
  done?: DoneEvent;
  blocked?: Extract<AgentEvent, { type: 'blocked' }>;
  error?: Extract<AgentEvent, { type: 'error' }>;
}

/** Records a turn's events from the moment it is called until `done` or `error`. */
export function collectTurnEvents(agent: AgentService): { forTurn(turnId: string): Promise<CollectedTurn> } {
  const byTurn = new Map<string, CollectedTurn>();
  const waiters = new Map<string, (turn: CollectedTurn) => void>();
  const turnOf = (id: string) => {
    let turn = byTurn.get(id);
    if (!turn) byTurn.set(id, (turn = { tokens: [] }));
    return turn;
  };
  agent.listen((event) => {
    if (event.type === 'token') turnOf(event.turnId).tokens.push({ text: event.text, at: performance.now() });
    if (event.type === 'done') {
      const turn = turnOf(event.turnId);
      turn.done = event;
      waiters.get(event.turnId)?.(turn);
    }
    if (event.type === 'error' && event.turnId) {
      const turn = turnOf(event.turnId);
      turn.error = event;
      waiters.get(event.turnId)?.(turn);
    }
    if (event.type === 'blocked') {
      const turn = turnOf(event.turnId);
      turn.blocked = event;
      waiters.get(event.turnId)?.(turn);
    }
  });
  return {
    forTurn(turnId) {
      const turn = turnOf(turnId);
      if (turn.done || turn.error || turn.blocked) return Promise.resolve(turn);
      return new Promise((resolve) => waiters.set(turnId, resolve));
    },
  };
}

/**
 * The real provider factories for `config`, with the embedded provider's `generate` passed through `around` (to
 * count, record or hold generations in tests). The model and its inference are real.
 */
export function embeddedFactoriesAround(
  config: AgentConfigOverrides,
  around: (request: LlmGenerateRequest, generate: (request: LlmGenerateRequest) => Promise<LlmGenerateResult>) => Promise<LlmGenerateResult>,
): LlmProviderFactories {
  const real = realLlmFactories(resolveAgentConfig(config));
  return {
    ...real,
    createEmbedded: (modelPath) => {
      const provider = real.createEmbedded(modelPath);
      const generate = provider.generate.bind(provider);
      provider.generate = (request) => around(request, generate);
      return provider;
    },
  };
}
