/** A stretch of the checked text that a guard flagged, by UTF-16 offsets (`text.slice(start, end)`). */
export interface FlaggedSpan {
  start: number;
  end: number;
  /** What it is: 'EMAIL', 'CARD', 'INJECTION', 'ABUSE'… (PII kinds are the mask's name: `[EMAIL]`). */
  kind: string;
}

export type GuardVerdict =
  | { outcome: 'pass' }
  | {
      outcome: 'flag';
      /** One short plain sentence for the user ("The question asks to ignore the assistant's instructions."). Never quotes the flagged text. */
      reason: string;
      spans: FlaggedSpan[];
      /** 0..1 where the guard has a score (similarity, classifier probability). */
      score?: number;
    };

/** Where a text comes from: what is checked the same way may be treated differently (a document is never "the user"). */
export type GuardSubject = 'question' | 'passage' | 'answer-sentence';

export interface GuardContext {
  subject: GuardSubject;
  /** The question's embedding when retrieval already made it (shared, so it is computed once per turn). */
  questionEmbedding?: Float32Array;
}

/**
 * One guardrail: a name, a check with its own signal, and nothing else. Guards are pure with respect to the turn: they
 * never throw for odd input (any Unicode, empty, huge); a guard that fails anyway is handled by its runner according to
 * its settings (fail open or closed), never by taking the turn down.
 */
export interface Guard {
  readonly name: string;
  /** Which subjects this guard looks at. */
  readonly subjects: readonly GuardSubject[];
  check(text: string, context: GuardContext, signal: AbortSignal): Promise<GuardVerdict> | GuardVerdict;
  /**
   * For an answer sentence still being written: the length of its prefix this guard would leave unchanged whatever
   * comes next, so it can be shown before the whole sentence is checked. Absent: none of it.
   */
  releasable?(partial: string): number;
}

/** What a flag does: refuse the turn (or drop the passage / withhold the sentence), mask the spans, or only note it. */
export type GuardAction = 'block' | 'redact' | 'warn';
