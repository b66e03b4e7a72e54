import { describe, expect, it } from 'vitest';
import { AgentError } from '../../../src-shared/contract/index.js';
import type { AgentLogger } from '../agentLogger.js';
import type { LlmProvider } from './llmProvider.js';
import { LlmProviderManager, type LlmProviderFactories } from './llmProviderManager.node.js';

type Line = { level: keyof AgentLogger; fields: Record<string, unknown>; message: string };

function recordingLogger(): { logger: AgentLogger; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: keyof AgentLogger) => (fields: object, message: string) => lines.push({ level, fields: fields as Record<string, unknown>, message });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

/** A fake provider (no model behind it) whose load and dispose fail as told. */
function fakeProvider(kind: 'embedded' | 'ollama', behaviour: { loadError?: Error; disposeError?: Error }): LlmProvider {
  return {
    kind,
    modelId: `fake-${kind}`,
    contextTokens: 2048,
    load: async () => {
      if (behaviour.loadError) throw behaviour.loadError;
    },
    generate: async () => ({ text: '', tokens: 0, aborted: false }),
    countTokens: (text) => text.length,
    dispose: async () => {
      if (behaviour.disposeError) throw behaviour.disposeError;
    },
  };
}

describe('LlmProviderManager: failures that reach no caller are logged', () => {
  it('logs a provider that cannot be shut down after it failed to start, besides reporting the start failure', async () => {
    const { logger, lines } = recordingLogger();
    const factories: LlmProviderFactories = {
      createEmbedded: () =>
        fakeProvider('embedded', { loadError: new AgentError('MODEL_NOT_READY', 'llama.cpp could not start it'), disposeError: new Error('context still in use') }),
      createOllama: () => fakeProvider('ollama', {}),
      probeOllama: async () => ({ reachable: false, hasModel: false }),
    };
    const statuses: string[] = [];
    const manager = new LlmProviderManager({ choice: 'embedded', factories, onStatus: (s) => statuses.push(s.state), onNotice: () => undefined, logger });
    await manager.start();
    expect(statuses.at(-1)).toBe('error');
    expect(lines).toContainEqual({
      level: 'error',
      message: 'could not shut down the LLM provider',
      fields: { provider: 'embedded', code: 'INTERNAL', reason: 'context still in use' },
    });
  });

  it('logs an Ollama probe that threw, and goes on with the embedded model', async () => {
    const { logger, lines } = recordingLogger();
    const factories: LlmProviderFactories = {
      createEmbedded: () => fakeProvider('embedded', {}),
      createOllama: () => fakeProvider('ollama', {}),
      probeOllama: async () => {
        throw new Error('probe bug');
      },
    };
    const manager = new LlmProviderManager({ choice: 'auto', factories, onStatus: () => undefined, onNotice: () => undefined, logger });
    expect((await manager.ready()).kind).toBe('embedded');
    expect(lines).toContainEqual({ level: 'warn', message: 'Ollama probe failed', fields: { code: 'INTERNAL', reason: 'probe bug' } });
  });
});
