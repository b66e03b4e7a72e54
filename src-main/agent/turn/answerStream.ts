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
  /**
   * With `checked-sentences`: how much of a sentence still being written may be shown before its check (a prefix that
   * the check cannot change: no word that could be personal data, nothing it would withhold). Absent: none of it.
   */
  releasable?(partialSentence: string): number;
}

/** `check`, with its failures logged: a sentence withheld because its check broke is something the operator should see. */
export function loggingCheckFailures(check: OutputCheck, logger: AgentLogger): OutputCheck {
  return {
    ...(check.tokens && { tokens: check.tokens }),
    ...(check.releasable && { releasable: (text: string) => check.releasable!(text) }),
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
  /** Checked-sentences mode: the text after the last completed sentence, what of it is shown, what went out as tokens. */
  private tail = '';
  private tailShown = 0;
  private shown = '';
  private sentencesInCheck = 0;

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
      if (this.shown !== '') listener.token(this.shown);
    } else if (this.raw !== '') listener.token(this.raw);
    this.checked.forEach((sentence, index) => listener.sentence(index, sentence));
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  push(chunk: string): void {
    if (chunk === '' || this.controller.signal.aborted) return;
    this.raw += chunk;
    if (!this.holdsTokens) {
      for (const listener of this.listeners) listener.token(chunk);
      for (const sentence of this.splitter.push(chunk)) this.enqueue(sentence, 0);
      return;
    }
    this.tail += chunk;
    for (const sentence of this.splitter.push(chunk)) this.completeSentence(sentence);
    this.releasePartial();
  }

  /** A sentence is complete: what of it was shown already goes with it to its check; the tail starts after it. */
  private completeSentence(sentence: string): void {
    const start = this.tail.indexOf(sentence);
    const shownOfIt = start === -1 ? 0 : Math.min(this.tailShown, sentence.length);
    this.tail = start === -1 ? '' : this.tail.slice(start + sentence.length);
    this.tailShown = 0;
    this.enqueue(sentence, shownOfIt);
  }

  /**
   * Shows the safe prefix of the sentence being written, in order: only when no earlier sentence is still in its check,
   * only whole words, never less than was shown already.
   */
  private releasePartial(): void {
    if (this.sentencesInCheck > 0 || !this.check.releasable) return;
    const current = this.tail.trimStart();
    if (current === '') return;
    const wholeWords = current.search(/\S*$/u);
    const safe = Math.min(wholeWords, this.check.releasable(current));
    if (safe <= this.tailShown) return;
    const piece = current.slice(this.tailShown, safe);
    const spacer = this.tailShown === 0 ? this.spacer() : '';
    this.tailShown = safe;
    this.emitToken(spacer + piece);
  }

  /** The space between two sentences, unless the shown text already ends with one. */
  private spacer(): string {
    return this.shown === '' || /\s$/u.test(this.shown) ? '' : ' ';
  }

  private emitToken(text: string): void {
    if (text === '') return;
    this.shown += text;
    for (const listener of this.listeners) listener.token(text);
  }

  /** The answer is complete: checks what is left; resolves when every sentence has been checked and sent. */
  end(): Promise<void> {
    if (!this.controller.signal.aborted) {
      for (const sentence of this.splitter.flush()) {
        if (this.holdsTokens) this.completeSentence(sentence);
        else this.enqueue(sentence, 0);
      }
    }
    return this.checking;
  }

  /** The answer was stopped: sentences still being checked are dropped. */
  abandon(): void {
    this.controller.abort();
  }

  /** `shownOfIt`: how many of the sentence's characters already went out as tokens before its check. */
  private enqueue(sentence: string, shownOfIt: number): void {
    this.sentencesInCheck += 1;
    this.checking = this.checking.then(async () => {
      try {
        await this.checkAndSend(sentence, shownOfIt);
      } finally {
        this.sentencesInCheck -= 1;
      }
      if (this.holdsTokens && !this.controller.signal.aborted) this.releasePartial();
    });
  }

  private async checkAndSend(sentence: string, shownOfIt: number): Promise<void> {
    {
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
      if (this.holdsTokens) {
        // The part shown before the check was a prefix the check leaves as it is; the rest goes out now.
        const rest = text.slice(shownOfIt);
        this.emitToken(shownOfIt === 0 ? this.spacer() + rest : rest);
      }
      for (const listener of this.listeners) listener.sentence(index, text);
    }
  }
}
