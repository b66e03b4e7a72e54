import PQueue from 'p-queue';
import { AgentError } from '../../../src-shared/contract/index.js';
import { silentLogger, type AgentLogger } from '../agentLogger.js';
import type { LlmChatMessage } from '../llm/llmProvider.js';
import { aggregateCouncil, type CouncilAggregate, type EmbedTexts, type ReviewerRanking } from './aggregateRankings.js';
import type { CouncilEvent, CouncilEventWithoutSeq, CouncilStage } from './councilEvents.js';
import type { CouncilMember } from './councilMember.js';
import { callMember, type MemberOutcome } from './memberCall.js';
import { parseRanking } from './rankingParser.js';
import { buildRankingPrompt, type CouncilAnswer } from './rankingPrompt.js';
import { buildSynthesisPrompt, SYNTHESIS_SYSTEM_PROMPT } from './synthesisPrompt.js';

export interface CouncilTimeouts {
  /** Per member, from when its generation starts. */
  answerMs: number;
  rankingMs: number;
  synthesisMs: number;
}

export interface CouncilMaxTokens {
  answer: number;
  ranking: number;
  synthesis: number;
}

export const DEFAULT_COUNCIL_TIMEOUTS: CouncilTimeouts = { answerMs: 60_000, rankingMs: 60_000, synthesisMs: 120_000 };
export const DEFAULT_COUNCIL_MAX_TOKENS: CouncilMaxTokens = { answer: 512, ranking: 256, synthesis: 768 };

export interface CouncilRunOptions {
  question: string;
  /** The turn's system prompt (persona, retrieved passages): stage 1 answers with it; the chairman gets it too. */
  systemPrompt: string;
  /** Earlier turns for stages 1 and 3; reviewers judge the answers to this question alone. */
  history?: LlmChatMessage[];
  /** Distinct ids and labels (see `councilMembersFrom`); stage 1 runs them all. */
  members: readonly CouncilMember[];
  /** Writes the final answer; may run the same model as a member. */
  chairman: CouncilMember;
  /** Embeds the answers for the agreement fallback (the retrieval embedder). */
  embed: EmbedTexts;
  /** Every council event, in order, as soon as its piece is ready. Not called after `signal` aborts. */
  onEvent(event: CouncilEvent): void;
  /** The turn's answer, streamed: the chairman's synthesis, or the fallback answer. */
  onToken(text: string): void;
  signal: AbortSignal;
  /** Per-stage per-member durations (ms) of every generation that started, for the stage observer and metrics. */
  observe?(stage: CouncilStage, model: string, ms: number): void;
  logger?: AgentLogger;
  timeouts?: Partial<CouncilTimeouts>;
  maxTokens?: Partial<CouncilMaxTokens>;
  /** Usable rankings that let the chairman start. Default: half of the rankings expected, rounded up. */
  minRankingsForStage3?: number;
  /** Answers the chairman is given, best first. Default 3. */
  topAnswers?: number;
  /** Seeds each reviewer's shuffle of the answers. Default: random per run. */
  seed?: number;
  now?: () => number;
}

export interface CouncilTiming {
  stage: CouncilStage;
  memberId: string;
  model: string;
  ms: number;
  outcome: 'ok' | 'failed' | 'timed-out' | 'cancelled';
}

export interface CouncilResult {
  /** Exactly what went through `onToken`, in order. */
  text: string;
  /** The run's signal aborted; `text` is what had streamed by then (from the chairman, once stage 3 had begun). */
  aborted: boolean;
  /**
   * Whose answer `text` is: the chairman's synthesis, the top-ranked answer (the chairman failed), or the only
   * member's; `none` when the run was aborted before stage 3.
   */
  source: 'chairman' | 'top-answer' | 'sole-member' | 'none';
  /** The stage-1 answers that survived, in member order. */
  answers: CouncilAnswer[];
  aggregate?: CouncilAggregate;
  timings: CouncilTiming[];
}

const COUNCIL = 'council';

/**
 * One council turn. Stage 1: every member answers (exclusive members take turns, the others run at once); a member
 * that fails or times out is dropped with a notice. Stage 2: each survivor ranks the others' anonymised answers; the
 * chairman starts as soon as `minRankingsForStage3` usable rankings are in (or when the rankings still pending could
 * no longer reach it), from the rankings in at that moment; later ones are still shown (`late`), and those not in
 * when the answer is complete are cancelled. Stage 3: the chairman streams a synthesis of the top answers through
 * `onToken`; if it fails, the top-ranked answer is the answer.
 *
 * Resolves with the answer (also when `signal` aborts: `aborted`, with what had streamed). Rejects only with
 * GENERATION_FAILED when no member answered, or INVALID_SETTING for no members or two sharing an id or label.
 * Member failures never reject.
 */
export async function runCouncil(options: CouncilRunOptions): Promise<CouncilResult> {
  assertDistinct(options.members);
  const { signal } = options;
  const now = options.now ?? (() => performance.now());
  const logger = options.logger ?? silentLogger;
  const timeouts = { ...DEFAULT_COUNCIL_TIMEOUTS, ...options.timeouts };
  const maxTokens = { ...DEFAULT_COUNCIL_MAX_TOKENS, ...options.maxTokens };
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
  const history = options.history ?? [];
  const lane = new PQueue({ concurrency: 1 });
  const timings: CouncilTiming[] = [];
  const labelOf = new Map(options.members.map((member) => [member.id, member.label]));

  let seq = 0;
  const emit = (event: CouncilEventWithoutSeq): void => {
    if (signal.aborted) return;
    seq += 1;
    try {
      options.onEvent({ ...event, seq } as CouncilEvent);
    } catch (error) {
      logger.error({ err: error, seq }, 'council event listener failed');
    }
  };
  let streamed = '';
  const stream = (text: string): void => {
    if (text === '') return;
    streamed += text;
    options.onToken(text);
  };
  const recordTiming = (stage: CouncilStage, member: CouncilMember, outcome: MemberOutcome): void => {
    // A generation cancelled before it started took no time of its own.
    if (outcome.ok || outcome.ms > 0 || outcome.why !== 'cancelled') {
      timings.push({ stage, memberId: member.id, model: member.label, ms: outcome.ms, outcome: outcome.ok ? 'ok' : outcome.why });
    }
  };
  const call = (
    stage: CouncilStage,
    member: CouncilMember,
    request: Parameters<typeof callMember>[1],
    how: { signal: AbortSignal; timeoutMs: number; priority?: number; onOutcome?: (outcome: MemberOutcome) => void },
  ) =>
    callMember(member, request, {
      ...how,
      lane,
      now,
      onTimed: (ms) => options.observe?.(stage, member.label, ms),
      onOutcome: (outcome) => {
        recordTiming(stage, member, outcome);
        how.onOutcome?.(outcome);
      },
    });
  const result = (fields: Pick<CouncilResult, 'source' | 'answers'> & { aggregate?: CouncilAggregate }): CouncilResult => ({
    text: streamed,
    aborted: signal.aborted,
    timings,
    ...fields,
  });

  // Stage 1: every member answers; each answer is shown the moment it is complete.
  const reportAnswer = (member: CouncilMember, outcome: MemberOutcome): void => {
    if (outcome.ok) {
      emit({ kind: 'answer', stage: 1, model: member.label, memberId: member.id, text: outcome.text, ms: outcome.ms });
      return;
    }
    if (outcome.why === 'cancelled') return;
    logger.warn({ member: member.label, stage: 1, why: outcome.why, message: outcome.message }, 'council member dropped');
    emit({
      kind: 'notice',
      stage: 1,
      model: member.label,
      memberId: member.id,
      code: outcome.why === 'timed-out' ? 'member-timed-out' : 'member-failed',
      level: 'warning',
      message: `${member.label} was dropped from the council: ${outcome.message}.`,
    });
  };
  const outcomes = await Promise.all(
    options.members.map((member) =>
      call(
        1,
        member,
        { systemPrompt: options.systemPrompt, history, question: options.question, maxTokens: maxTokens.answer, onToken: ignore },
        { signal, timeoutMs: timeouts.answerMs, onOutcome: (outcome) => reportAnswer(member, outcome) },
      ),
    ),
  );
  const answers: CouncilAnswer[] = [];
  const survivors: CouncilMember[] = [];
  options.members.forEach((member, index) => {
    const outcome = outcomes[index]!;
    if (outcome.ok) {
      answers.push({ memberId: member.id, text: outcome.text });
      survivors.push(member);
    }
  });
  if (signal.aborted) return result({ source: 'none', answers });
  if (survivors.length === 0) {
    const reasons = options.members.map((member, index) => {
      const outcome = outcomes[index]!;
      return `${member.label}: ${outcome.ok ? 'answered' : outcome.message}`;
    });
    throw new AgentError('GENERATION_FAILED', `No council member answered (${reasons.join('; ')}).`);
  }
  if (survivors.length === 1) {
    const sole = survivors[0]!;
    emit({
      kind: 'notice',
      stage: 1,
      model: sole.label,
      memberId: sole.id,
      code: 'single-member',
      level: 'warning',
      message: `Only ${sole.label} answered, so its answer is the answer (no rankings, no synthesis).`,
    });
    stream(answers[0]!.text);
    return result({ source: 'sole-member', answers });
  }

  // Stage 2: each survivor ranks the others. The chairman starts from the rankings in once the quorum is reached.
  const stage2 = new AbortController();
  const endStage2 = () => stage2.abort(signal.reason);
  signal.addEventListener('abort', endStage2, { once: true });
  const expected = survivors.length;
  const quorum = Math.min(expected, Math.max(1, options.minRankingsForStage3 ?? Math.ceil(expected / 2)));
  const usable: ReviewerRanking[] = [];
  let settled = 0;
  let chairmanInput: ReviewerRanking[] | undefined;
  let answerComplete = false;
  let quorumReached!: () => void;
  const quorumIn = new Promise<void>((resolve) => (quorumReached = resolve));

  /** Shows a ranking as soon as it is in, and lets the chairman start once the quorum is reached. */
  const reportRanking = (reviewer: CouncilMember, labels: ReadonlyMap<string, string>, outcome: MemberOutcome): void => {
    settled += 1;
    const late = chairmanInput !== undefined;
    const base = { kind: 'ranking', stage: 2, model: reviewer.label, memberId: reviewer.id, late, ms: outcome.ms } as const;
    if (outcome.ok) {
      const parsed = parseRanking(outcome.text, [...labels.keys()]);
      if (parsed) {
        const ranked = parsed.map((label) => labels.get(label)!);
        if (!late) usable.push({ reviewerId: reviewer.id, candidates: [...labels.values()], ranked });
        emit({ ...base, usable: true, ranking: ranked.map((memberId) => ({ memberId, model: labelOf.get(memberId)! })) });
      } else {
        // The text itself is not logged: it may quote the user's question.
        logger.warn({ member: reviewer.label, chars: outcome.text.length }, 'council ranking unparseable; dropped');
        emit({ ...base, usable: false, reason: 'unparseable', ranking: [] });
      }
    } else if (answerComplete) {
      emit({ ...base, usable: false, reason: 'cancelled: the answer was complete before it', ranking: [] });
    } else {
      logger.warn({ member: reviewer.label, stage: 2, why: outcome.why, message: outcome.message }, 'council ranking dropped');
      emit({ ...base, usable: false, reason: outcome.message, ranking: [] });
    }
    const pending = expected - settled;
    if (chairmanInput === undefined && (usable.length >= quorum || usable.length + pending < quorum)) {
      chairmanInput = [...usable];
      // Exclusive rankings not started yet wait: the chairman takes the next turn.
      lane.pause();
      quorumReached();
    }
  };
  const rankings = survivors.map((reviewer) => {
    const prompt = buildRankingPrompt({ question: options.question, reviewerId: reviewer.id, answers, seed });
    return call(
      2,
      reviewer,
      { systemPrompt: prompt.systemPrompt, history: [], question: prompt.question, maxTokens: maxTokens.ranking, onToken: ignore },
      { signal: stage2.signal, timeoutMs: timeouts.rankingMs, onOutcome: (outcome) => reportRanking(reviewer, prompt.labels, outcome) },
    );
  });
  // Settles once every ranking is in or cancelled; never rejects (callMember does not).
  const allRankings = Promise.all(rankings);
  const finish = async (fields: Pick<CouncilResult, 'source'> & { aggregate?: CouncilAggregate }): Promise<CouncilResult> => {
    answerComplete = true;
    stage2.abort(new Error('the answer is complete'));
    lane.start(); // the rankings still queued find stage 2 over and end at once
    await allRankings;
    signal.removeEventListener('abort', endStage2);
    return result({ ...fields, answers });
  };

  await quorumIn;
  if (signal.aborted) return finish({ source: 'none' });
  let aggregate: CouncilAggregate;
  try {
    aggregate = await aggregateCouncil({ answers, rankings: chairmanInput ?? [], embed: options.embed, signal });
  } catch (error) {
    // aggregateCouncil turns a failed embedding into the order fallback: an abort is what normally gets here.
    const ended = await finish({ source: 'none' });
    if (signal.aborted) return ended;
    throw error;
  }
  emit({
    kind: 'aggregate',
    stage: 2,
    model: COUNCIL,
    method: aggregate.method,
    table: aggregate.table.map((standing) => ({ ...standing, model: labelOf.get(standing.memberId)! })),
    rankingsUsed: chairmanInput?.length ?? 0,
    rankingsExpected: expected,
  });
  if (aggregate.fallbackReason !== undefined) {
    emit({
      kind: 'notice',
      stage: 2,
      model: COUNCIL,
      code: 'fallback-aggregation',
      level: 'info',
      message:
        aggregate.method === 'agreement'
          ? 'No ranking was usable, so the answers were ranked by how much they agree with each other.'
          : `The answers were kept in the members' order: ${aggregate.fallbackReason}.`,
    });
  }

  // Stage 3: the chairman's synthesis is the turn's answer, streamed as it comes.
  const byId = new Map(answers.map((answer) => [answer.memberId, answer]));
  const ranked = aggregate.table.map((standing) => byId.get(standing.memberId)!);
  const top = ranked.slice(0, Math.max(1, options.topAnswers ?? 3));
  const synthesis = buildSynthesisPrompt(options.question, top);
  const chairman = options.chairman;
  let chairmanStreaming = true;
  const synthesised = call(
    3,
    chairman,
    {
      systemPrompt: options.systemPrompt.trim() === '' ? SYNTHESIS_SYSTEM_PROMPT : `${options.systemPrompt}\n\n${synthesis.systemPrompt}`,
      history,
      question: synthesis.question,
      maxTokens: maxTokens.synthesis,
      onToken: (text) => {
        // Nothing from a chairman that has been given up on (over time) may follow the fallback answer.
        if (chairmanStreaming && !signal.aborted) stream(text);
      },
    },
    {
      signal,
      timeoutMs: timeouts.synthesisMs,
      priority: 1,
      onOutcome: () => {
        chairmanStreaming = false;
        // Paused again, so that no ranking still queued starts only to be cancelled.
        lane.pause();
      },
    },
  );
  lane.start();
  const outcome = await synthesised;
  if (signal.aborted) return finish({ source: 'chairman', aggregate });
  if (outcome.ok) {
    // A chairman that returns its text without streaming it still gives the turn its answer.
    if (streamed === '') stream(outcome.text);
    return finish({ source: 'chairman', aggregate });
  }
  const best = ranked[0]!;
  logger.warn({ member: chairman.label, stage: 3, why: outcome.why, message: outcome.message }, 'council chairman failed');
  emit({
    kind: 'notice',
    stage: 3,
    model: chairman.label,
    code: 'chairman-failed',
    level: 'warning',
    message: `The chairman (${chairman.label}) failed: ${outcome.message}. The top-ranked answer, ${labelOf.get(best.memberId)}'s, is the answer.`,
  });
  stream(streamed === '' ? best.text : `\n\n${best.text}`);
  return finish({ source: 'top-answer', aggregate });
}

function assertDistinct(members: readonly CouncilMember[]): void {
  if (members.length === 0) throw new AgentError('INVALID_SETTING', 'A council needs at least one member.');
  for (const key of ['id', 'label'] as const) {
    const values = members.map((member) => member[key]);
    const repeated = values.find((value, index) => values.indexOf(value) !== index);
    if (repeated !== undefined) throw new AgentError('INVALID_SETTING', `Two council members share the ${key} "${repeated}"; each needs its own.`);
  }
}

function ignore(): void {}
