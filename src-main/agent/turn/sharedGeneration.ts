import type { LlmGenerateResult } from '../llm/llmProvider.js';

export interface GenerationOutcome {
  /** What this subscriber received. */
  text: string;
  tokens: number;
  promptTokens?: number;
  /** This subscriber cancelled, or the generation itself was stopped. */
  aborted: boolean;
}

export interface GenerationSubscription {
  outcome: Promise<GenerationOutcome>;
  /** Stops this subscriber at once; the generation stops when its last subscriber cancels. */
  cancel(): void;
}

/**
 * One LLM generation that several identical questions asked at the same time can follow. A late subscriber first
 * receives the text generated so far, then the live tokens.
 */
export class SharedGeneration {
  private text = '';
  private readonly controller = new AbortController();
  private readonly listeners = new Set<(chunk: string) => void>();
  private readonly result: Promise<LlmGenerateResult>;

  constructor(run: (signal: AbortSignal, onToken: (chunk: string) => void) => Promise<LlmGenerateResult>) {
    this.result = run(this.controller.signal, (chunk) => {
      this.text += chunk;
      for (const listener of this.listeners) listener(chunk);
    });
    // Rejections reach every subscriber through `outcome`; this keeps an unobserved one from crashing the process.
    this.result.catch(() => undefined);
  }

  /** Every subscriber cancelled, so the generation is stopping: a new subscriber would only get its partial text. */
  get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  /** Resolves with the provider's own result once generation ends (for caching the complete answer). */
  get completed(): Promise<LlmGenerateResult> {
    return this.result;
  }

  subscribe(onToken: (chunk: string) => void): GenerationSubscription {
    let received = '';
    let chunks = 0;
    const listener = (chunk: string) => {
      received += chunk;
      chunks++;
      onToken(chunk);
    };
    if (this.text) listener(this.text);
    this.listeners.add(listener);

    let cancelSelf!: () => void;
    const cancelled = new Promise<GenerationOutcome>((resolve) => {
      cancelSelf = () => resolve({ text: received, tokens: chunks, aborted: true });
    });
    const finished = this.result.then((result) => ({
      text: result.aborted ? received : result.text,
      tokens: result.tokens,
      ...(result.promptTokens !== undefined && { promptTokens: result.promptTokens }),
      aborted: result.aborted,
    }));
    const outcome = Promise.race([finished, cancelled]).finally(() => this.listeners.delete(listener));
    return {
      outcome,
      cancel: () => {
        this.listeners.delete(listener);
        cancelSelf();
        if (this.listeners.size === 0) this.controller.abort();
      },
    };
  }
}
