import { AgentError } from '../../src-shared/contract/index.js';
import type { LlmGenerateRequest, LlmGenerateResult, LlmProvider } from '../agent/llm/llmProvider.js';
import type { LlmProviderFactories } from '../agent/llm/llmProviderManager.node.js';
import { Gate } from './gate.js';

/** One generation the scripted model was asked for. */
export interface ScriptedGeneration {
  question: string;
  signal: AbortSignal;
  /** Settles with what the model returned. */
  result: Promise<LlmGenerateResult>;
}

/**
 * A model that answers every question with the same scripted chunks. `thinking` holds the first chunk (the model is
 * still reading the prompt); `paused` holds the chunks after the first `pauseAfter` (the model mid-answer). Stops
 * as soon as its signal aborts.
 */
export class ScriptedLlm implements LlmProvider {
  readonly kind = 'embedded' as const;
  readonly modelId = 'scripted-model';
  readonly contextTokens = 4096;
  readonly thinking = new Gate();
  readonly paused = new Gate();
  readonly generations: ScriptedGeneration[] = [];

  constructor(
    private readonly chunks: string[],
    private readonly pauseAfter = Number.POSITIVE_INFINITY,
  ) {}

  async load(): Promise<void> {}
  async dispose(): Promise<void> {}

  countTokens(text: string): number {
    return Math.ceil(text.length / 4);
  }

  generate(request: LlmGenerateRequest): Promise<LlmGenerateResult> {
    const result = this.run(request);
    this.generations.push({ question: request.question, signal: request.signal, result });
    return result;
  }

  private async run(request: LlmGenerateRequest): Promise<LlmGenerateResult> {
    let text = '';
    let tokens = 0;
    const stopped = () => new AgentError('CANCELLED', 'stopped');
    try {
      await this.thinking.wait(request.signal, stopped);
      for (const chunk of this.chunks) {
        if (tokens >= this.pauseAfter) await this.paused.wait(request.signal, stopped);
        if (request.signal.aborted) throw stopped();
        text += chunk;
        tokens++;
        request.onToken(chunk);
        // Tokens arrive over time, as from a real model, not all in one tick.
        await new Promise((resolve) => setImmediate(resolve));
      }
      return { text, tokens, promptTokens: 1, aborted: false };
    } catch (error) {
      if (!request.signal.aborted) throw error;
      return { text, tokens, promptTokens: 1, aborted: true };
    }
  }
}

export function scriptedLlmFactories(llm: ScriptedLlm): LlmProviderFactories {
  return {
    createEmbedded: () => llm,
    createOllama: () => llm,
    probeOllama: async () => ({ reachable: false, hasModel: false, models: [] }),
  };
}
