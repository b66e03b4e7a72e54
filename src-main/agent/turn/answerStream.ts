import { toErrorShape } from '../../../src-shared/contract/index.js';
import { StreamingSentenceSplitter } from '../../../src-shared/speech/sentenceSplitter.js';
import type { AgentLogger } from '../agentLogger.js';

/** What an output check decides about one sentence of an answer. */
export type OutputVerdict = { action: 'pass' } | { action: 'replace'; text: string } | { action: 'block'; reason: string; guard?: string };

/**
 * Checks each sentence of an answer before it is spoken, stored or cached. The guardrails fill this in. A check that
 * throws withholds its sentence; its error (code and message, so never the sentence itself in it) is logged.
 */
export interface OutputCheck {
  checkSentence(sentence: string, signal: AbortSignal): Promise<OutputVerdict> | OutputVerdict;
  /**
   * `checked-sentences`: nothing is shown before it is checked, so tokens go out a checked sentence at a time (the
   * guardrails). Absent: tokens go out as generated and only sentences wait for their check.
   */
  readonly tokens?: 'as-generated' | 'checked-sentences';
}

/** `check`, with its failures logged: a sentence withheld because its check broke is something the operator should see. */
export function loggingCheckFailures(check: OutputCheck, logger: AgentLogger): OutputCheck {
  return {
    ...(check.tokens && { tokens: check.tokens }),
    async checkSentence(sentence, signal) {
      try {
        return await check.checkSentence(sentence, signal);
      } catch (error) {
        if (!signal.aborted) {
          const shape = toErrorShape(error);
          logger.error({ code: shape.code, reason: shape.message }, 'output check failed; its sentence was withheld');
        }
        throw error;
      }
    },
  };
}

/** The default: every sentence passes as it is. */
export const passThroughOutputCheck: OutputCheck = { checkSentence: () => ({ action: 'pass' }) };

export interface AnswerStreamListener {
  token(chunk: string): void;
  /** A sentence that passed its checks, in order. */
  sentence(index: number, text: string): void;
  /** A sentence an output check withheld: shown as a short marker, never spoken or stored. */
  withheld?(reason: string, guard: string): void;
}

/**
 * The one stream of an answer, shared by every turn that follows it (joined generations, cache replays): tokens →
 * sentence splitter → per-sentence output checks → listeners. Tokens go out as they arrive; sentences once checked,
 * in order. A listener that subscribes late first gets everything so far.
 */
export class AnswerStream {
  private readonly splitter = new StreamingSentenceSplitter();
  private readonly listeners = new Set<AnswerStreamListener>();
  private readonly controller = new AbortController();
  private raw = '';
  private readonly checked: string[] = [];
  private modified = false;
  private checking: Promise<void> = Promise.resolve();

  constructor(private readonly check: OutputCheck = passThroughOutputCheck) {}

  /** Everything generated so far, unchecked (what token listeners have seen). */
  get text(): string {
    return this.raw;
  }

  /** The answer as it passed the checks: the text to store and cache. Exactly the generated text when nothing was changed. */
  get checkedText(): string {
    return this.modified || this.holdsTokens ? this.checked.join(' ') : this.raw;
  }

  private get holdsTokens(): boolean {
    return this.check.tokens === 'checked-sentences';
  }

  subscribe(listener: AnswerStreamListener): () => void {
    if (this.holdsTokens) {
      if (this.checked.length > 0) listener.token(this.checked.join(' '));
    } else if (this.raw !== '') listener.token(this.raw);
    this.checked.forEach((sentence, index) => listener.sentence(index, sentence));
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  push(chunk: string): void {
    if (chunk === '' || this.controller.signal.aborted) return;
    this.raw += chunk;
    if (!this.holdsTokens) for (const listener of this.listeners) listener.token(chunk);
    for (const sentence of this.splitter.push(chunk)) this.enqueue(sentence);
  }

  /** The answer is complete: checks what is left; resolves when every sentence has been checked and sent. */
  end(): Promise<void> {
    if (!this.controller.signal.aborted) for (const sentence of this.splitter.flush()) this.enqueue(sentence);
    return this.checking;
  }

  /** The answer was stopped: sentences still being checked are dropped. */
  abandon(): void {
    this.controller.abort();
  }

  private enqueue(sentence: string): void {
    this.checking = this.checking.then(async () => {
      if (this.controller.signal.aborted) return;
      let verdict: OutputVerdict;
      try {
        verdict = await this.check.checkSentence(sentence, this.controller.signal);
      } catch {
        // A check that fails withholds its sentence rather than letting it through unchecked.
        verdict = { action: 'block', reason: 'the output check failed' };
      }
      if (this.controller.signal.aborted) return;
      if (verdict.action !== 'pass') this.modified = true;
      if (verdict.action === 'block') {
        for (const listener of this.listeners) listener.withheld?.(verdict.reason, verdict.guard ?? 'output check');
        return;
      }
      const text = verdict.action === 'replace' ? verdict.text : sentence;
      const index = this.checked.push(text) - 1;
      for (const listener of this.listeners) {
        if (this.holdsTokens) listener.token(index === 0 ? text : ` ${text}`);
        listener.sentence(index, text);
      }
    });
  }
}
