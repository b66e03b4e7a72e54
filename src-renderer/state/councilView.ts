import type { CouncilEvent, DoneEvent, TurnRoute } from '../../src-shared/contract/index.js';

/*
 * A council turn as the UI shows it: its `council` events per turn (pure functions, kept in the chat store), what the
 * council view makes of them, and the labels for the answer's footer (the router's choice, whose text a council's
 * answer is).
 */

/** The council events of each turn of this session, by turn id, in `seq` order. */
export type CouncilsByTurn = Record<string, CouncilEvent[]>;

/** Turns whose council events are kept; older ones go first. */
export const REMEMBERED_COUNCIL_TURNS = 50;

/**
 * `councils` with `event` added in its place, as a new object (the same object when nothing changed).
 *
 * - Events are kept in `seq` order: one that arrives before an earlier one (they should not) is put in its place, not
 *   dropped, so the view never misses a member's answer. An event whose `seq` is already there (a repeat) is ignored.
 * - An event of a turn that is not `known` (not shown here, and with no council events kept yet) is ignored: the
 *   agent's council events carry no conversation, and the turn's stored messages are what a reload shows.
 * - At most `keep` turns are kept: the oldest turn's events go first.
 */
export function withCouncilEvent(councils: CouncilsByTurn, event: CouncilEvent, known: boolean, keep = REMEMBERED_COUNCIL_TURNS): CouncilsByTurn {
  const events = councils[event.turnId];
  if (!events && !known) return councils;
  const list = events ?? [];
  if (list.some((kept) => kept.seq === event.seq)) return councils;
  // Nearly always appended: the agent sends them in order.
  let at = list.length;
  while (at > 0 && list[at - 1]!.seq > event.seq) at--;
  const next = { ...councils, [event.turnId]: [...list.slice(0, at), event, ...list.slice(at)] };
  const turns = Object.keys(next);
  // Insertion order of the keys is the order the turns were first seen.
  for (const old of turns.slice(0, Math.max(0, turns.length - keep))) delete next[old];
  return next;
}

export interface CouncilAnswerView {
  seq: number;
  memberId: string;
  model: string;
  text: string;
  ms: number | null;
}

export interface CouncilRankingView {
  seq: number;
  memberId: string;
  /** The reviewer's label. */
  model: string;
  /** The labels of the answers it ranked, best first (empty when not usable). */
  ranked: string[];
  usable: boolean;
  reason: string | null;
  late: boolean;
  ms: number | null;
}

export interface CouncilStandingView {
  position: number;
  memberId: string;
  model: string;
  score: number;
  votes: number;
}

export interface CouncilAggregateView {
  method: 'rankings' | 'agreement' | 'order';
  /** How the standings were made, in words. */
  methodLabel: string;
  table: CouncilStandingView[];
  rankingsUsed: number | null;
  rankingsExpected: number | null;
}

export interface CouncilNoticeView {
  seq: number;
  code: string | null;
  level: 'info' | 'warning';
  message: string;
}

export interface CouncilView {
  answers: CouncilAnswerView[];
  rankings: CouncilRankingView[];
  aggregate: CouncilAggregateView | null;
  notices: CouncilNoticeView[];
}

const METHOD_LABELS: Record<CouncilAggregateView['method'], string> = {
  rankings: 'by rankings',
  agreement: 'by agreement (no ranking was usable)',
  order: 'in order',
};

/** What the council view shows of a turn's events (in `seq` order): answers, rankings, the aggregate, notices. */
export function councilView(events: readonly CouncilEvent[]): CouncilView {
  const view: CouncilView = { answers: [], rankings: [], aggregate: null, notices: [] };
  for (const event of events) {
    switch (event.kind) {
      case 'answer':
        view.answers.push({ seq: event.seq, memberId: event.memberId ?? event.model, model: event.model, text: event.text ?? '', ms: event.ms ?? null });
        break;
      case 'ranking': {
        const usable = event.usable ?? (event.ranking?.length ?? 0) > 0;
        view.rankings.push({
          seq: event.seq,
          memberId: event.memberId ?? event.model,
          model: event.model,
          ranked: usable ? (event.ranking ?? []).map((entry) => entry.model) : [],
          usable,
          reason: event.reason ?? null,
          late: event.late ?? false,
          ms: event.ms ?? null,
        });
        break;
      }
      case 'aggregate': {
        const method = event.method ?? 'order';
        view.aggregate = {
          method,
          methodLabel: METHOD_LABELS[method],
          table: [...(event.table ?? [])]
            .sort((a, b) => a.position - b.position)
            .map((standing) => ({ position: standing.position, memberId: standing.memberId, model: standing.model, score: standing.score, votes: standing.votes })),
          rankingsUsed: event.rankingsUsed ?? null,
          rankingsExpected: event.rankingsExpected ?? null,
        };
        break;
      }
      case 'notice':
        view.notices.push({ seq: event.seq, code: event.code ?? null, level: event.level ?? 'info', message: event.message ?? '' });
        break;
    }
  }
  return view;
}

/** The router's choice for the answer's footer: "fast · voice question" (the tier, and why). */
export function routeLabel(route: TurnRoute): string {
  const reason = route.reason.trim();
  return reason === '' ? route.tier : `${route.tier} · ${reason}`;
}

export type CouncilOutcome = NonNullable<DoneEvent['council']>;

/** Whose text a council's answer is, for the answer's footer: "council of 3 (chairman)", "council: top answer (chairman failed)". */
export function councilOutcomeLabel(outcome: CouncilOutcome): string {
  switch (outcome.source) {
    case 'chairman':
      return `council of ${outcome.members.length} (chairman)`;
    case 'top-answer':
      return 'council: top answer (chairman failed)';
    case 'sole-member':
      return 'council: only one member answered';
    case 'none':
      return 'council: no answer';
  }
}
