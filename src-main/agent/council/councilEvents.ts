import type { AggregationMethod, CouncilStanding } from './aggregateRankings.js';

/** 1: members answer; 2: members rank each other's answers; 3: the chairman writes the final answer. */
export type CouncilStage = 1 | 2 | 3;

interface CouncilEventBase {
  stage: CouncilStage;
  /** Strictly increasing across one council run, from 1, in the order the events were emitted. */
  seq: number;
  /** The label of the member the event is about; `council` for the aggregate and for notices about the whole run. */
  model: string;
}

/** A member's stage-1 answer, whole, as soon as it is complete. */
export interface CouncilAnswerEvent extends CouncilEventBase {
  kind: 'answer';
  stage: 1;
  memberId: string;
  text: string;
  ms: number;
}

/** A reviewer's ranking, de-anonymised, as soon as it is in; or why it could not be used. One per reviewer. */
export interface CouncilRankingEvent extends CouncilEventBase {
  kind: 'ranking';
  stage: 2;
  memberId: string;
  /** Best first; empty when not usable. Answers the reviewer did not name count as tied last. */
  ranking: { memberId: string; model: string }[];
  usable: boolean;
  /** Why it is not usable: unparseable, failed, timed out, or cancelled because the answer was complete. */
  reason?: string;
  /** In after the chairman had started: shown, but not part of the aggregate. */
  late: boolean;
  ms: number;
}

/** The standings the chairman works from; stage 3 starts right after it. */
export interface CouncilAggregateEvent extends CouncilEventBase {
  kind: 'aggregate';
  stage: 2;
  method: AggregationMethod;
  table: (CouncilStanding & { model: string })[];
  /** Usable rankings the aggregate was made from, of the `rankingsExpected`. */
  rankingsUsed: number;
  rankingsExpected: number;
}

export type CouncilNoticeCode =
  /** A member failed or gave an empty answer, and was dropped. */
  | 'member-failed'
  | 'member-timed-out'
  /** Only one member answered: its answer is the answer. */
  | 'single-member'
  /** No ranking was usable: the answers were ranked by agreement (or, failing that, kept in order). */
  | 'fallback-aggregation'
  /** The chairman failed: the top-ranked answer is the answer. */
  | 'chairman-failed';

export interface CouncilNoticeEvent extends CouncilEventBase {
  kind: 'notice';
  code: CouncilNoticeCode;
  level: 'info' | 'warning';
  message: string;
  memberId?: string;
}

export type CouncilEvent = CouncilAnswerEvent | CouncilRankingEvent | CouncilAggregateEvent | CouncilNoticeEvent;

/** Distributes `Omit` over the union, so each event can be built without its `seq`. */
export type CouncilEventWithoutSeq = CouncilEvent extends infer E ? (E extends CouncilEvent ? Omit<E, 'seq'> : never) : never;
