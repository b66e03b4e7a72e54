import type { LlmGenerateResult } from '../llm/llmProvider.js';
import { AnswerStream, type AnswerStreamListener, type OutputCheck } from './answerStream.js';

export interface GenerationOutcome {
  /** The checked answer when it completed; what this subscriber received when it was stopped. */
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
 * One answer that several turns can follow: an LLM generation (identical prompts asked at the same time share it)
 * or the replay of a cached answer. Either way its text flows through one AnswerStream, so every answer is split
 * into sentences and checked the same way. A late subscriber first receives everything so far, then the live text.
 */
export class SharedGeneration {
  private readonly controller = new AbortController();
  private readonly stream: AnswerStream;
  private readonly listeners = new Set<AnswerStreamListener>();
  private readonly result: Promise<LlmGenerateResult>;

  constructor(run: (signal: AbortSignal, onToken: (chunk: string) => void) => Promise<LlmGenerateResult>, check?: OutputCheck) {
    this.stream = new AnswerStream(check);
    this.result = run(this.controller.signal, (chunk) => this.stream.push(chunk)).then(
      async (result) => {
        if (result.aborted) {
          this.stream.abandon();
          return result;
        }
        await this.stream.end();
        return { ...result, text: this.stream.checkedText };
      },
      (error: unknown) => {
        this.stream.abandon();
        throw error;
      },
    );
    // Rejections reach every subscriber through `outcome`; this keeps an unobserved one from crashing the process.
    this.result.catch(() => undefined);
  }

  /** A cached answer, replayed through the same stream as a generated one. */
  static replay(text: string, check?: OutputCheck): SharedGeneration {
    return new SharedGeneration(async (_signal, onToken) => {
      onToken(text);
      return { text, tokens: 1, aborted: false };
    }, check);
  }

  /** Every subscriber cancelled, so the generation is stopping: a new subscriber would only get its partial text. */
  get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  /** Resolves with the result once generation ends; `text` is the checked answer (for caching). */
  get completed(): Promise<LlmGenerateResult> {
    return this.result;
  }

  subscribe(listener: AnswerStreamListener): GenerationSubscription {
    let received = '';
    let chunks = 0;
    const unsubscribe = this.stream.subscribe({
      token: (chunk) => {
        received += chunk;
        chunks++;
        listener.token(chunk);
      },
      sentence: (index, text) => listener.sentence(index, text),
      withheld: (reason, guard) => listener.withheld?.(reason, guard),
    });
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
    const detach = () => {
      unsubscribe();
      this.listeners.delete(listener);
    };
    const outcome = Promise.race([finished, cancelled]).finally(detach);
    return {
      outcome,
      cancel: () => {
        detach();
        cancelSelf();
        if (this.listeners.size === 0) this.controller.abort();
      },
    };
  }
}
