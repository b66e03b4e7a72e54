import { randomUUID } from 'node:crypto';
import { AgentError, toErrorShape, type AgentEvent, type ChatMessage, type Citation, type CouncilRequest, type TurnRoute } from '../../../src-shared/contract/index.js';
import { runCouncil } from '../council/councilRun.js';
import type { SeatedCouncil } from '../council/councilSeats.node.js';
import type { AgentConfig } from '../agentConfig.node.js';
import type { AgentLogger } from '../agentLogger.js';
import { audit } from '../audit.js';
import { responseCacheKey } from '../cache/cacheKey.node.js';
import type { ResponseCache } from '../cache/responseCache.node.js';
import { ProviderRefusedRequest, type LlmProvider } from '../llm/llmProvider.js';
import type { LlmProviderManager } from '../llm/llmProviderManager.node.js';
import type { ConversationStore } from '../memory/conversationStore.node.js';
import type { OutputCheck } from './answerStream.js';
import { FairScheduler } from './fairScheduler.js';
import { planPrompt, type PromptPlan } from './promptPlan.js';
import {
  requireOutcome,
  runPrepareStep,
  type ContextStep,
  type PluggedPrepareStep,
  type PrepareStep,
  type RetrievedContext,
  TurnBlocked,
  type StepOutcome,
  type TurnInput,
  type VerdictStep,
} from './prepareStep.js';
import { SharedGeneration, type GenerationOutcome } from './sharedGeneration.js';
import { normaliseSpokenQuestion, SpeculativeTurn, type SpeculativeTurnHandle } from './speculativeTurn.js';
import type { TurnObserver, TurnTimeline } from './turnObserver.js';
import { TurnOutput } from './turnOutput.js';

export interface ChatTurnDeps {
  config: AgentConfig;
  store: ConversationStore;
  cache: ResponseCache;
  llm: LlmProviderManager;
  observer: TurnObserver;
  logger: AgentLogger;
  /** Retrieval and input checks, run beside the built-in steps. */
  prepareSteps?: readonly PluggedPrepareStep[];
  /** Checks every answer sentence before it is shown, spoken, stored or cached. */
  outputCheck?: OutputCheck;
  /**
   * The question as it may be kept: stored, used as the conversation's title, logged. The model still gets the question
   * as asked, for this turn (the guardrails mask personal data here).
   */
  redactForStorage?: (text: string) => string;
  /**
   * Picks the model tier of a turn once its context is known (the `auto` router, or the session's tier), with the
   * provider to answer with when it is not the chat model. Never throws (a failure keeps the chat model).
   */
  route?(input: { question: string; voice: boolean; documents: number; signal: AbortSignal }): Promise<{ provider?: LlmProvider; route: TurnRoute } | undefined>;
  /** Seats a council of models for a turn that asks for one (`request.council`). */
  council?: { seat(request: CouncilRequest): Promise<SeatedCouncil> };
  emit(event: AgentEvent): void;
}

export interface TurnRequest {
  conversationId?: string | undefined;
  text: string;
  /** When the input was complete, if before now (a voice turn: the end of speech). Stage times count from it. */
  origin?: number;
  /** Stages that happened before the turn (a voice turn's speech-to-text), as performance.now() times. */
  earlierStages?: ReadonlyArray<{ name: string; start: number; end: number }>;
  /**
   * Who asked: a connection of the headless host or an Electron window (the command router names them). Turns waiting
   * for the model are served round robin between callers; turns without one (the CLI, voice) share one caller.
   */
  caller?: string | undefined;
  /**
   * A turn prepared speculatively on the same words (a voice turn, while the user was silent): adopted when its
   * words match (normalised) and the conversation has not moved on, cancelled otherwise.
   */
  speculation?: SpeculativeTurnHandle | undefined;
  /** Ask a council of models instead of the one chat model: its final answer is the turn's answer. */
  council?: CouncilRequest | undefined;
  /** A spoken question (the tier router prefers the fast tier for it). */
  voice?: boolean | undefined;
}

export interface StartedTurn {
  turnId: string;
  conversationId: string;
  /** Where the turn's stages are observed; a voice turn adds its own (tts) to it. */
  timeline: TurnTimeline;
  /** Settles when the turn has ended and everything about it is stored. */
  finished: Promise<void>;
  /** It took over the turn prepared speculatively on the same words (`request.speculation`). */
  adoptedSpeculation: boolean;
}

interface ActiveTurn {
  cancel(): void;
  finished: Promise<void>;
}

interface QueuedTurn {
  turnId: string;
  conversationId: string;
  answerId: number;
  question: string;
  /** The question as stored and logged (personal data masked). */
  keptQuestion: string;
  timeline: TurnTimeline;
  earlierStages: NonNullable<TurnRequest['earlierStages']>;
  caller: string;
  /** Settles when the conversation's previous turn has ended. */
  previous: Promise<void> | undefined;
  /** Prepare is over and the answer stream has begun. */
  answering?: boolean;
  /** The turn started its conversation (a first question). */
  createdConversation: boolean;
  /** Its prepare steps ran speculatively before the turn began. */
  speculation?: SpeculativeTurn<PreparedTurn> | undefined;
  council?: CouncilRequest | undefined;
  voice: boolean;
  /** The tier that answered and why, for the done event. */
  route?: TurnRoute;
  /** What the council did, for the done event. */
  councilOutcome?: { members: string[]; source: 'chairman' | 'top-answer' | 'sole-member' | 'none' };
}

/** What a turn's prepare stage gives the answer: its pieces as they become ready. */
type PreparedTurn = ReturnType<ChatTurnRunner['prepare']>;

/** Who a prepare stage is for: a turn, or a speculative one that has no conversation rows yet. */
interface PrepareTarget {
  turnId: string;
  /** Undefined for a speculative first question: no history. */
  conversationId: string | undefined;
  question: string;
  timing: { stageStart(name: string): void; stageEnd(name: string): void };
  emit(event: AgentEvent): void;
}

const TITLE_CHARS = 60;
/** The caller of turns that came without one (the CLI, voice). */
const LOCAL_CALLER = 'local';
/**
 * Generations the model runs at once. The embedded model has one context sequence, so it answers one at a time, and
 * a second generation handed to a provider would only wait in the provider's own first-come queue, out of the fair
 * scheduler's reach. Instead, an answer of a client with a backlog gives the model up to a client with less queued and
 * goes on later from where it stopped (providers that can continue an answer: the embedded model). A second context
 * sequence, decoded in the same batch, was measured too: the quiet answer no longer waited, but with stories260K on one
 * thread both ran at half speed (790 → 370 tokens/s), so it came no sooner.
 */
const GENERATION_SLOTS = 1;
/** Tokens an answer generates before it may give the model up to another caller's: it always gets on. */
const MIN_TOKENS_BEFORE_GIVING_WAY = 8;

/**
 * One chat turn as a pipeline: validate → store the question → wait for the conversation's previous turn →
 * prepare (provider, history, cache, retrieval, input checks: all at once, each with its own timeout) → one answer
 * stream (a shared generation, or a cached answer replayed) → checked sentences → store the answer. The first token
 * reaches the user only after every input verdict has passed. Timing goes to the TurnObserver.
 */
export class ChatTurnRunner {
  private readonly active = new Map<string, ActiveTurn>();
  private readonly inFlight = new Map<string, SharedGeneration>();
  /** The last turn of each conversation that has not ended yet; the next question waits for it. */
  private readonly conversationTails = new Map<string, Promise<void>>();
  /**
   * Where generations wait for the model (stage `model-queue`), round robin between callers: a connection flooding
   * questions delays another connection's question by at most one of its own answers.
   */
  private readonly modelSlots = new FairScheduler(GENERATION_SLOTS);

  constructor(private readonly deps: ChatTurnDeps) {}

  async start(request: TurnRequest): Promise<StartedTurn> {
    const { config, store, observer } = this.deps;
    const question = request.text.trim();
    if (question.length === 0) throw new AgentError('EMPTY_QUESTION', 'The question is empty. Type or say something to ask.');
    if (question.length > config.maxQuestionChars) {
      throw new AgentError(
        'QUESTION_TOO_LONG',
        `The question is ${question.length.toLocaleString('en')} characters long; the limit is ${config.maxQuestionChars.toLocaleString('en')}. Shorten it and ask again.`,
      );
    }
    if (request.conversationId !== undefined && !store.getConversation(request.conversationId)) {
      throw new AgentError('NOT_FOUND', `Conversation ${request.conversationId} does not exist (was it deleted?).`);
    }
    // A model known to be missing or broken is refused at once, with its fix, before anything is stored. One still
    // loading is waited for by the provider step, beside the other prepare steps.
    const llmState = this.deps.llm.status.state;
    if (llmState === 'missing' || llmState === 'error') await this.deps.llm.ready();

    const speculation = this.adoptable(request, question);
    const kept = this.deps.redactForStorage?.(question) ?? question;
    const conversationId = request.conversationId ?? store.createConversation(titleFrom(kept)).id;
    if (request.conversationId === undefined) this.deps.emit({ type: 'conversations-changed' });
    const turnId = speculation?.turnId ?? randomUUID();
    const timeline = observer.begin(turnId, request.origin);
    // Question and answer rows are stored together, at once: a question waiting behind another one is not lost if
    // the process dies, and the conversation's rows stay in question-answer pairs.
    store.addMessage(conversationId, turnId, 'user', kept, 'complete');
    const answerId = store.addMessage(conversationId, turnId, 'assistant', '', 'streaming');

    // A conversation is a sequence: this turn starts when the previous turn of the conversation has ended, so it
    // sees that answer in its history and the stored messages stay paired.
    const previous = this.conversationTails.get(conversationId);
    const cancellation = new AbortController();
    const queued: QueuedTurn = {
      turnId,
      conversationId,
      answerId,
      question,
      keptQuestion: kept,
      timeline,
      earlierStages: request.earlierStages ?? [],
      caller: request.caller ?? LOCAL_CALLER,
      previous,
      createdConversation: request.conversationId === undefined,
      speculation,
      council: request.council,
      voice: request.voice === true,
    };
    const finished = new Promise<void>((resolve) => {
      // After the caller has the turn id, so the id always arrives before the turn's first event.
      setImmediate(() => {
        this.run(queued, cancellation.signal)
          .catch((error: unknown) => this.fail(queued, error))
          .finally(() => {
            this.active.delete(turnId);
            if (this.conversationTails.get(conversationId) === finished) this.conversationTails.delete(conversationId);
            observer.end(turnId);
            resolve();
          });
      });
    });
    this.conversationTails.set(conversationId, finished);
    this.active.set(turnId, { cancel: () => cancellation.abort(), finished });
    return { turnId, conversationId, timeline, finished, adoptedSpeculation: speculation !== undefined };
  }

  /**
   * Prepares a turn on words the user may still add to (a voice turn's partial transcript during a pause): the
   * prepare steps run now, nothing is stored or shown. `start` with it as `speculation` adopts it when the final
   * words match; `cancel` drops it.
   */
  speculate(request: { text: string; conversationId?: string | undefined }): SpeculativeTurnHandle {
    const question = request.text.trim();
    const { conversationId } = request;
    const messages = conversationId === undefined ? [] : this.deps.store.listMessages(conversationId);
    const speculation = new SpeculativeTurn<PreparedTurn>(question, conversationId, messages.length, randomUUID());
    const prepared = this.prepare({ turnId: speculation.turnId, conversationId, question, timing: speculation.stages, emit: speculation.emit }, speculation.signal);
    void prepared.settled.then(() => (speculation.settledAt ??= performance.now()));
    speculation.hold(prepared);
    // The model reads the prompt now too, unless the answer is cached: the real turn's generation starts from it.
    void Promise.all([prepared.plan, prepared.cachedAnswer])
      .then(async ([{ provider, plan }, cached]) => {
        if (cached !== undefined || !provider.prefill || speculation.signal.aborted) return;
        speculation.stages.stageStart('prefill');
        try {
          await provider.prefill({ systemPrompt: plan.systemPrompt, history: plan.history, question: plan.question, signal: speculation.signal });
        } finally {
          speculation.stages.stageEnd('prefill');
        }
      })
      .catch(() => undefined);
    return speculation;
  }

  /**
   * Takes over what was prepared speculatively. When the final words are written differently (the same words, other
   * case or punctuation), the prompt and its cache lookup are made again from them: the answer is to what was said.
   */
  private adopt(speculation: SpeculativeTurn<PreparedTurn>, turn: QueuedTurn, signal: AbortSignal): PreparedTurn {
    const prepared = speculation.adopt({ conversationId: turn.conversationId, signal, emit: this.deps.emit, timeline: turn.timeline });
    if (speculation.question === turn.question) return prepared;
    const plan = Promise.all([prepared.plan, prepared.history, prepared.context]).then(([{ provider }, history, context]) => ({
      provider,
      plan: this.plan(provider, turn.question, history, context),
    }));
    const cachedAnswer = plan.then(
      ({ provider, plan: replanned }) => this.deps.cache.get(this.cacheKey(provider, replanned)),
      () => undefined,
    );
    plan.catch(() => undefined);
    return { ...prepared, plan, cachedAnswer };
  }

  /** The speculation `request` brings, if the turn can take it over; one that cannot is cancelled. */
  private adoptable(request: TurnRequest, question: string): SpeculativeTurn<PreparedTurn> | undefined {
    const speculation = request.speculation;
    if (!(speculation instanceof SpeculativeTurn)) return undefined;
    const { conversationId } = request;
    const stillCurrent =
      !speculation.cancelled &&
      speculation.normalised === normaliseSpokenQuestion(question) &&
      speculation.conversationId === conversationId &&
      // The conversation has not moved on: no turn of it still running, no message added since.
      (conversationId === undefined || (!this.conversationTails.has(conversationId) && this.deps.store.listMessages(conversationId).length === speculation.messagesBefore));
    if (stillCurrent) return speculation;
    speculation.cancel();
    return undefined;
  }

  /**
   * Stops a turn. A turn whose text had already finished (a voice answer still being spoken when the user barged
   * in) is marked interrupted, since the user did not hear all of it.
   */
  cancel(turnId: string): boolean {
    const turn = this.active.get(turnId);
    if (turn) {
      turn.cancel();
      return true;
    }
    return this.deps.store.markAnswerInterrupted(turnId);
  }

  /** Cancels every running turn and waits until their partial answers are stored. */
  async drain(): Promise<void> {
    const turns = [...this.active.values()];
    for (const turn of turns) turn.cancel();
    await Promise.all(turns.map((turn) => turn.finished));
  }

  private async run(turn: QueuedTurn, cancelled: AbortSignal): Promise<void> {
    const { config, store, emit } = this.deps;
    const { turnId, conversationId, answerId, question, timeline } = turn;
    emit({ type: 'turn-started', turnId, conversationId, question: turn.keptQuestion });
    // Question and answer text go to the logs only at debug level: the user's words are not for the default logs.
    this.deps.logger.debug({ turnId, conversationId, question: turn.keptQuestion }, 'question');
    for (const stage of turn.earlierStages) timeline.record(stage.name, stage.start, stage.end);
    if (turn.previous) {
      timeline.start('queue');
      await untilSettledOrAborted(turn.previous, cancelled);
      timeline.end('queue');
    }

    const output = new TurnOutput({
      turnId,
      conversationId,
      emit,
      timeline,
      savePartial: (text) => store.updateMessage(answerId, text, 'streaming'),
      flushMs: config.partialAnswerFlushMs,
    });
    let provider: LlmProvider | undefined;
    const finish = (outcome: GenerationOutcome & { cached: boolean }, citations: Citation[] = []) => {
      output.close();
      timeline.end('generate');
      const status = outcome.aborted ? 'interrupted' : 'complete';
      const timings = timeline.doneTimings(outcome);
      store.updateMessage(answerId, outcome.text, status);
      const interrupted = status !== 'complete';
      const kind = provider?.kind ?? this.deps.llm.status.provider ?? 'embedded';
      const model = provider?.modelId ?? this.deps.llm.status.model ?? '';
      store.recordTimings({ turnId, conversationId, provider: kind, model, cached: outcome.cached, interrupted, timings });
      emit({
        type: 'done',
        turnId,
        conversationId,
        text: outcome.text,
        cached: outcome.cached,
        interrupted,
        provider: kind,
        model,
        timings,
        citations,
        ...(turn.councilOutcome && { council: turn.councilOutcome }),
        ...(turn.route && { route: turn.route }),
      });
      this.deps.logger.debug({ turnId, answer: outcome.text }, 'answer');
      this.deps.logger.info({ turnId, conversationId, provider: kind, model, cached: outcome.cached, interrupted, ...timings }, 'turn done');
    };
    if (cancelled.aborted) {
      // Stopped while waiting for the previous answer: nothing was generated.
      turn.speculation?.cancel();
      finish({ text: '', tokens: 0, aborted: true, cached: false });
      return;
    }

    // Failing ends the prepare steps still running, and the error is sent once they have all ended.
    const failed = new AbortController();
    const prepareSignal = AbortSignal.any([cancelled, failed.signal]);
    const { speculation } = turn;
    // The prepare stage as a whole: for a turn prepared speculatively, it began (and may have ended) before the end of speech.
    timeline.start('prepare', speculation?.startedAt);
    const prepared = speculation
      ? this.adopt(speculation, turn, prepareSignal)
      : this.prepare(this.prepareTarget(turn), prepareSignal);
    void prepared.settled.then(() => timeline.end('prepare', speculation?.settledAt));
    try {
      await this.answer(turn, cancelled, prepared, output, finish, (p) => (provider = p));
    } catch (error) {
      failed.abort();
      await prepared.settled;
      throw error;
    }
  }

  /** From the prepared plan to the stored answer: one answer stream, shown once the verdicts have passed. */
  private async answer(
    turn: QueuedTurn,
    cancelled: AbortSignal,
    prepared: PreparedTurn,
    output: TurnOutput,
    finish: (outcome: GenerationOutcome & { cached: boolean }, citations: Citation[]) => void,
    usingProvider: (provider: LlmProvider) => void,
  ): Promise<void> {
    const { turnId, question, timeline } = turn;
    let { provider: active, plan } = await prepared.plan;
    const routed = turn.council ? undefined : await this.routeTurn(turn, active, prepared, cancelled);
    if (routed) ({ provider: active, plan } = routed);
    usingProvider(active);
    // A council's answer is its own each time: it is neither replayed nor kept in the cache. An answer routed to another
    // model is looked up under that model.
    const cachedAnswer = turn.council ? undefined : routed ? this.deps.cache.get(this.cacheKey(active, plan)) : await prepared.cachedAnswer;
    turn.answering = true;

    for (let cached = cachedAnswer !== undefined; ; cached = false) {
      const key = this.cacheKey(active, plan);
      timeline.start('generate');
      timeline.start('first-token');
      timeline.start('first-sentence');
      const generation = cached
        ? SharedGeneration.replay(cachedAnswer!, this.deps.outputCheck)
        : turn.council
          ? this.councilGeneration(turn, turn.council, plan)
          : this.generationFor(key, active, plan, turn);
      const subscription = generation.subscribe(output.listener);
      const stop = () => subscription.cancel();
      if (cancelled.aborted) stop();
      else cancelled.addEventListener('abort', stop, { once: true });
      // Awaited below once the verdicts are in; until then a failure must not count as an unhandled rejection.
      subscription.outcome.catch(() => undefined);

      try {
        await prepared.verdicts;
      } catch (rejection) {
        stop();
        output.discard();
        throw rejection;
      }
      output.open();

      let outcome: GenerationOutcome;
      try {
        outcome = await subscription.outcome;
      } catch (error) {
        cancelled.removeEventListener('abort', stop);
        const shape = toErrorShape(error);
        // Only before anything was shown (an answer is never replayed), and not for a request the provider refused.
        // A council's failure is its members', not the chat model's: it never switches the session's model.
        const canRetry =
          !turn.council &&
          output.shown === '' &&
          !(error instanceof ProviderRefusedRequest) &&
          (shape.code === 'PROVIDER_UNAVAILABLE' || shape.code === 'GENERATION_FAILED');
        const fallback: LlmProvider | undefined = canRetry ? await this.deps.llm.fallBackFrom(active, shape.message) : undefined;
        if (!fallback) throw error;
        this.deps.logger.warn({ turnId, from: active.kind, to: fallback.kind, code: shape.code }, 'provider fallback');
        active = fallback;
        usingProvider(active);
        // The same plan, fitted again: the new model's window may be smaller.
        plan = this.plan(active, question, await prepared.history, await prepared.context);
        continue;
      }
      finish({ ...outcome, cached }, plan.citations);
      return;
    }
  }

  /**
   * Starts every prepare step at once. The prompt plan needs the provider, the history and the retrieved context;
   * the cache lookup needs the plan; the verdicts only gate what is shown.
   */
  private prepare(turn: PrepareTarget, signal: AbortSignal) {
    const { config, store, llm, cache, prepareSteps = [] } = this.deps;
    const input: TurnInput = { turnId: turn.turnId, conversationId: turn.conversationId ?? '', question: turn.question, emit: turn.emit };
    const { timing } = turn;
    const steps = config.prepare;
    // Sequential (the benchmark's baseline): each step starts when the one before it has ended, in the order below.
    let previousStep: Promise<unknown> = Promise.resolve();
    const run = <T>(step: PrepareStep<T>): Promise<StepOutcome<T>> => {
      if (!steps.sequential) return runPrepareStep(step, input, signal, timing);
      const outcome = previousStep.then(() => runPrepareStep(step, input, signal, timing));
      previousStep = outcome;
      return outcome;
    };

    const provider = run({ name: 'provider', timeoutMs: steps.providerTimeoutMs, required: true, run: () => llm.ready() }).then(requireOutcome);
    const history = run({
      name: 'history',
      timeoutMs: steps.historyTimeoutMs,
      required: true,
      run: async () => (turn.conversationId === undefined ? [] : earlierMessages(store.listMessages(turn.conversationId), turn.turnId)),
    }).then(requireOutcome);
    const contextSteps = prepareSteps.filter((step): step is ContextStep => step.kind === 'context');
    const verdictSteps = prepareSteps.filter((step): step is VerdictStep => step.kind === 'verdict');
    const context = Promise.all(contextSteps.map(run)).then((outcomes) => outcomes.flatMap((outcome) => this.optional(turn, outcome) ?? []));
    const verdicts = Promise.all(verdictSteps.map((step) => run(step).then((outcome) => ({ step: step.name, outcome })))).then((results) => {
      for (const { step, outcome } of results) {
        const verdict = this.optional(turn, outcome);
        if (verdict && !verdict.allowed) throw new TurnBlocked(verdict.guard ?? step, verdict.reason);
      }
    });
    const plan = Promise.all([provider, history, context]).then(([p, h, c]) => ({ provider: p, plan: this.plan(p, turn.question, h, c) }));
    // The lookup starts once the plan is known (its key is the plan): its time and timeout are its own, not the
    // model's loading time.
    const cachedAnswer = plan
      .then((ready) =>
        run({
          name: 'cache',
          timeoutMs: steps.cacheTimeoutMs,
          required: false,
          run: async () => cache.get(this.cacheKey(ready.provider, ready.plan)),
        }),
      )
      .then(
        (outcome) => this.optional(turn, outcome),
        () => undefined,
      );
    // Each is awaited by run(), some only on some paths; none may reject unobserved.
    for (const pending of [history, context, verdicts, plan]) pending.catch(() => undefined);
    const settled = Promise.allSettled([provider, history, context, verdicts, cachedAnswer]).then(() => undefined);
    return { plan, history, context, verdicts, cachedAnswer, settled };
  }

  private prepareTarget(turn: QueuedTurn): PrepareTarget {
    return {
      turnId: turn.turnId,
      conversationId: turn.conversationId,
      question: turn.question,
      timing: { stageStart: (name) => turn.timeline.start(name), stageEnd: (name) => turn.timeline.end(name) },
      emit: this.deps.emit,
    };
  }

  /** An optional step's value, or undefined with a notice when it failed; a required step's failure is thrown. */
  private optional<T>(turn: PrepareTarget, outcome: StepOutcome<T>): T | undefined {
    if (outcome.ok) return outcome.value;
    if (outcome.required) throw new AgentError(outcome.error.code, outcome.error.message);
    this.deps.logger.warn({ turnId: turn.turnId, step: outcome.step, code: outcome.error.code, timedOut: outcome.timedOut }, 'optional prepare step failed');
    turn.emit({ type: 'notice', level: 'warning', message: `Answered without ${outcome.step}: ${outcome.error.message}` });
    return undefined;
  }

  private plan(provider: LlmProvider, question: string, history: ChatMessage[], context: RetrievedContext[]): PromptPlan {
    const { config } = this.deps;
    return planPrompt({ model: provider, systemPrompt: config.systemPrompt, question, history, context, maxAnswerTokens: config.maxAnswerTokens });
  }

  private cacheKey(provider: LlmProvider, plan: PromptPlan): string {
    return responseCacheKey({
      provider: provider.kind,
      modelId: provider.modelId,
      promptVersion: this.deps.config.promptVersion,
      question: plan.question,
      contextIds: plan.contextIds,
      history: plan.history,
      maxAnswerTokens: plan.maxAnswerTokens,
    });
  }

  /**
   * Joins an identical generation already running, or starts one (for `turn`, and any turn that joins it). A new
   * generation first waits for a model slot under its turn's caller.
   */
  private generationFor(key: string, provider: LlmProvider, plan: PromptPlan, turn: QueuedTurn): SharedGeneration {
    const running = this.inFlight.get(key);
    if (running && !running.stopped) return running;
    const { cache } = this.deps;
    const { turnId, timeline } = turn;
    const generation = new SharedGeneration(async (signal, onToken) => {
      // An answer of a caller with a backlog gives the model up to a caller with less queued (after a few tokens, so
      // that it always gets on), and goes on from where it stopped once it has the model again.
      let soFar = '';
      let tokens = 0;
      let promptTokens = 0;
      for (let resuming = false; ; resuming = true) {
        let release: () => void;
        try {
          release = await this.modelSlots.acquire(
            turn.caller,
            signal,
            { queued: () => timeline.start('model-queue'), granted: () => timeline.end('model-queue') },
            { resuming },
          );
        } catch {
          // Rejected only when every turn following this generation was cancelled while it waited.
          timeline.end('model-queue');
          return { text: soFar, tokens, promptTokens, aborted: true };
        }
        const giveWay = new AbortController();
        let sinceGranted = 0;
        try {
          const result = await provider.generate({
            systemPrompt: plan.systemPrompt,
            history: plan.history,
            question: plan.question,
            // The tokens of the answer so far count against its limit.
            maxTokens: Math.max(1, plan.maxAnswerTokens - tokens),
            signal: AbortSignal.any([signal, giveWay.signal]),
            ...(soFar !== '' && { continueFrom: soFar }),
            onToken: (chunk) => {
              onToken(chunk);
              sinceGranted += 1;
              if (provider.continuesAnswers === true && sinceGranted >= MIN_TOKENS_BEFORE_GIVING_WAY && this.modelSlots.shouldYield(turn.caller)) {
                giveWay.abort();
              }
            },
          });
          tokens += result.tokens;
          promptTokens += result.promptTokens ?? 0;
          soFar = result.text;
          if (!(result.aborted && giveWay.signal.aborted && !signal.aborted)) return { ...result, tokens, promptTokens };
        } finally {
          release();
        }
      }
    }, this.deps.outputCheck);
    this.inFlight.set(key, generation);
    generation.completed
      .then(
        (result) => {
          // Only answers that ran to their end are worth replaying; `text` is the checked answer. One that reached
          // the answer-token limit is replayed only for the same limit (the limit is part of the key).
          if (result.aborted || result.text.trim() === '') return;
          try {
            cache.set(key, result.text);
          } catch (error) {
            // The answer was shown and stored; only asking it again will be slower. Someone should know why.
            const shape = toErrorShape(error);
            this.deps.logger.error({ turnId, code: shape.code, reason: shape.message }, 'could not write the answer to the response cache');
          }
        },
        // A failed generation reaches each of its turns through their subscriptions (and is logged there).
        () => undefined,
      )
      .finally(() => {
        // A stopped generation may already have been replaced by a new one for the same question.
        if (this.inFlight.get(key) === generation) this.inFlight.delete(key);
      });
    return generation;
  }

  /**
   * The tier of the turn (stage `route`); when its model is not the chat model, the plan is fitted to that model.
   * Undefined when the chat model answers.
   */
  private async routeTurn(turn: QueuedTurn, active: LlmProvider, prepared: PreparedTurn, signal: AbortSignal): Promise<{ provider: LlmProvider; plan: PromptPlan } | undefined> {
    if (!this.deps.route) return undefined;
    turn.timeline.start('route');
    try {
      const context = await prepared.context;
      const decision = await this.deps.route({ question: turn.question, voice: turn.voice, documents: context.length, signal }).catch(() => undefined);
      if (!decision) return undefined;
      turn.route = decision.route;
      const provider = decision.provider;
      if (!provider || provider === active) return undefined;
      return { provider, plan: this.plan(provider, turn.question, await prepared.history, context) };
    } finally {
      turn.timeline.end('route');
    }
  }

  /**
   * A council's answer as the turn's one answer stream: members answer, rank each other, and the chairman's synthesis
   * streams as the tokens (so sentences, checks, voice and memory work as for one model). It takes the model slot as
   * a whole; its pieces go out as `council` events, and each member's time per stage is a stage of the turn.
   */
  private councilGeneration(turn: QueuedTurn, request: CouncilRequest, plan: PromptPlan): SharedGeneration {
    const { timeline } = turn;
    return new SharedGeneration(async (signal, onToken) => {
      const council = this.deps.council;
      if (!council) throw new AgentError('INVALID_SETTING', 'A council of models is not available in this session.');
      let release: () => void;
      try {
        release = await this.modelSlots.acquire(turn.caller, signal, { queued: () => timeline.start('model-queue'), granted: () => timeline.end('model-queue') });
      } catch {
        timeline.end('model-queue');
        return { text: '', tokens: 0, aborted: true };
      }
      try {
        timeline.start('council-seat');
        const seated = await council.seat(request);
        timeline.end('council-seat');
        let tokens = 0;
        const result = await runCouncil({
          question: plan.question,
          systemPrompt: plan.systemPrompt,
          history: plan.history,
          ...seated,
          signal,
          logger: this.deps.logger,
          onEvent: (event) => this.deps.emit({ ...event, type: 'council', turnId: turn.turnId } as AgentEvent),
          onToken: (text) => {
            tokens += 1;
            onToken(text);
          },
          maxTokens: { answer: plan.maxAnswerTokens, ranking: Math.min(256, plan.maxAnswerTokens), synthesis: plan.maxAnswerTokens },
          ...(this.deps.config.council?.timeouts && { timeouts: this.deps.config.council.timeouts }),
          observe: (stage, model, ms) => {
            const end = performance.now();
            timeline.record(`council-${stage}:${model}`, end - ms, end);
          },
        });
        turn.councilOutcome = { members: seated.members.map((member) => member.label), source: result.source };
        return { text: result.text, tokens, aborted: result.aborted };
      } finally {
        release();
      }
    }, this.deps.outputCheck);
  }

  /**
   * A turn refused while preparing (model not ready, question too long for the context, an input check) leaves
   * nothing behind, as if never asked. One that failed while answering keeps what was shown, marked interrupted.
   */
  private fail(turn: QueuedTurn, error: unknown): void {
    const shape = toErrorShape(error);
    const { store, logger, emit } = this.deps;
    if (!turn.answering || shape.code === 'INPUT_REJECTED') {
      store.deleteTurn(turn.turnId);
      // A first question refused while preparing leaves no empty conversation behind either.
      if (turn.createdConversation && store.listMessages(turn.conversationId).length === 0) {
        store.deleteConversation(turn.conversationId);
        emit({ type: 'conversations-changed' });
      }
    } else {
      const shown = store.listMessages(turn.conversationId).find((m) => m.turnId === turn.turnId && m.role === 'assistant')?.text ?? '';
      store.updateMessage(turn.answerId, shown, 'interrupted');
    }
    if (error instanceof TurnBlocked) {
      // A security event of its own in the log: which guard refused it and why (never the question).
      audit(logger, 'turn-blocked', { turnId: turn.turnId, caller: turn.caller, guard: error.guard, reason: shape.message });
      emit({ type: 'blocked', turnId: turn.turnId, conversationId: turn.conversationId, guard: error.guard, reason: shape.message });
      return;
    }
    // An AgentError is an expected refusal with its own message to the user; anything else is a bug to look into.
    if (error instanceof AgentError) logger.warn({ turnId: turn.turnId, code: shape.code }, 'turn failed');
    else logger.error({ turnId: turn.turnId, code: shape.code, reason: shape.message, stack: (error as Error)?.stack }, 'turn failed unexpectedly');
    emit({ type: 'error', turnId: turn.turnId, conversationId: turn.conversationId, ...shape });
  }
}

/** Everything said in the conversation before this turn (later questions may already be waiting behind it). */
function earlierMessages(stored: ChatMessage[], turnId: string): ChatMessage[] {
  const ownIndex = stored.findIndex((message) => message.turnId === turnId);
  return ownIndex === -1 ? stored : stored.slice(0, ownIndex);
}

/** Waits for `previous` to settle, or until the turn is cancelled while it waits. */
function untilSettledOrAborted(previous: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    previous.then(done, done);
  });
}

function titleFrom(question: string): string {
  const oneLine = question.replace(/\s+/g, ' ');
  return oneLine.length <= TITLE_CHARS ? oneLine : `${oneLine.slice(0, TITLE_CHARS - 1)}…`;
}
