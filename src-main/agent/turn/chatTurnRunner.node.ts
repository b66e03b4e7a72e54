import { randomUUID } from 'node:crypto';
import {
  AgentError,
  toErrorShape,
  type AgentEvent,
  type ChatMessage,
  type MessageStatus,
  type TurnTimings,
} from '../../../src-shared/contract/index.js';
import type { AgentConfig } from '../agentConfig.node.js';
import { responseCacheKey } from '../cache/cacheKey.node.js';
import type { ResponseCache } from '../cache/responseCache.node.js';
import type { LlmChatMessage, LlmProvider } from '../llm/llmProvider.js';
import type { LlmProviderManager } from '../llm/llmProviderManager.node.js';
import type { ConversationStore } from '../memory/conversationStore.node.js';
import { selectHistoryWithinBudget } from '../memory/historyBudget.js';
import { SharedGeneration, type GenerationOutcome } from './sharedGeneration.js';

export interface ChatTurnDeps {
  config: AgentConfig;
  store: ConversationStore;
  cache: ResponseCache;
  llm: LlmProviderManager;
  emit(event: AgentEvent): void;
}

export interface StartedTurn {
  turnId: string;
  conversationId: string;
  /** Settles when the turn has ended and everything about it is stored. */
  finished: Promise<void>;
}

interface ActiveTurn {
  cancel(): void;
  finished: Promise<void>;
}

/** Tokens kept free for the chat template's own markers around the system prompt and question. */
const PROMPT_MARGIN_TOKENS = 32;
/** Below this many answer tokens the context is too small to say anything useful. */
const MIN_ANSWER_TOKENS = 16;
const TITLE_CHARS = 60;

/**
 * One text turn: validate → store the question → cache or shared generation → stream tokens → store the answer,
 * its status and timings. Bad input is rejected before anything is stored.
 */
export class ChatTurnRunner {
  private readonly active = new Map<string, ActiveTurn>();
  private readonly inFlight = new Map<string, SharedGeneration>();
  /** The last turn of each conversation that has not ended yet; the next question waits for it. */
  private readonly conversationTails = new Map<string, Promise<void>>();

  constructor(private readonly deps: ChatTurnDeps) {}

  async start(request: { conversationId?: string | undefined; text: string }): Promise<StartedTurn> {
    const receivedAt = performance.now();
    const { config, store } = this.deps;
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
    const provider = await this.deps.llm.ready();
    const answerTokens = this.answerTokenBudget(provider, question);

    const conversationId = request.conversationId ?? store.createConversation(titleFrom(question)).id;
    if (request.conversationId === undefined) this.deps.emit({ type: 'conversations-changed' });
    const turnId = randomUUID();
    // Question and answer rows are stored together, at once: a question waiting behind another one is not lost if
    // the process dies, and the conversation's rows stay in question-answer pairs.
    store.addMessage(conversationId, turnId, 'user', question, 'complete');
    const answerId = store.addMessage(conversationId, turnId, 'assistant', '', 'streaming');

    // A conversation is a sequence: this turn starts when the previous turn of the conversation has ended, so it
    // sees that answer in its history and the stored messages stay paired.
    const previous = this.conversationTails.get(conversationId);
    const cancellation = new AbortController();
    const finished = new Promise<void>((resolve) => {
      // After the caller has the turn id, so the id always arrives before the turn's first event.
      setImmediate(() => {
        this.run({ turnId, conversationId, answerId, question, provider, answerTokens, receivedAt, previous }, cancellation.signal)
          .catch((error) => this.deps.emit({ type: 'error', turnId, conversationId, ...toErrorShape(error) }))
          .finally(() => {
            this.active.delete(turnId);
            if (this.conversationTails.get(conversationId) === finished) this.conversationTails.delete(conversationId);
            resolve();
          });
      });
    });
    this.conversationTails.set(conversationId, finished);
    this.active.set(turnId, { cancel: () => cancellation.abort(), finished });
    return { turnId, conversationId, finished };
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

  private answerTokenBudget(provider: LlmProvider, question: string): number {
    const { config } = this.deps;
    const promptTokens = provider.countTokens(config.systemPrompt) + provider.countTokens(question) + PROMPT_MARGIN_TOKENS;
    const room = provider.contextTokens - promptTokens;
    if (room < MIN_ANSWER_TOKENS) {
      throw new AgentError(
        'QUESTION_TOO_LONG',
        `The question is too long for the model's context (${provider.contextTokens} tokens, ${provider.modelId}). Shorten it and ask again.`,
      );
    }
    return Math.min(config.maxAnswerTokens, room);
  }

  private async run(
    turn: {
      turnId: string;
      conversationId: string;
      answerId: number;
      question: string;
      provider: LlmProvider;
      answerTokens: number;
      receivedAt: number;
      /** Settles when the conversation's previous turn has ended. */
      previous: Promise<void> | undefined;
    },
    cancelled: AbortSignal,
  ): Promise<void> {
    const { config, store, cache, emit } = this.deps;
    const { turnId, conversationId, answerId, question } = turn;
    emit({ type: 'turn-started', turnId, conversationId, question });
    let provider = turn.provider;
    let answerTokens = turn.answerTokens;
    if (turn.previous) {
      await untilSettledOrAborted(turn.previous, cancelled);
      // The previous turn may have switched providers (fallback): answer with the one in use now.
      const current = await this.deps.llm.ready().catch(() => provider);
      if (current !== provider) {
        provider = current;
        try {
          answerTokens = this.answerTokenBudget(provider, question);
        } catch (budgetError) {
          store.updateMessage(answerId, '', 'interrupted');
          throw budgetError;
        }
      }
    }
    // Everything said in this conversation before this turn (later questions may already be waiting behind it).
    const stored = store.listMessages(conversationId);
    const ownIndex = stored.findIndex((message) => message.turnId === turnId);
    const earlier = ownIndex === -1 ? stored : stored.slice(0, ownIndex);

    let firstTokenAt: number | undefined;
    let streamed = '';
    // Keep the partial answer on disk so a crash loses at most `partialAnswerFlushMs` of it: written on a token
    // when the last write is that old, and by a timer when tokens stall after an unwritten one.
    let lastFlush = performance.now();
    let flushTimer: NodeJS.Timeout | undefined;
    let streamingEnded = false;
    const flushPartial = () => {
      clearTimeout(flushTimer);
      flushTimer = undefined;
      if (streamingEnded) return;
      store.updateMessage(answerId, streamed, 'streaming');
      lastFlush = performance.now();
    };
    const endStreaming = () => {
      streamingEnded = true;
      clearTimeout(flushTimer);
    };
    const onToken = (chunk: string) => {
      firstTokenAt ??= performance.now();
      streamed += chunk;
      emit({ type: 'token', turnId, conversationId, text: chunk });
      const sinceFlush = performance.now() - lastFlush;
      if (sinceFlush >= config.partialAnswerFlushMs) flushPartial();
      else flushTimer ??= setTimeout(flushPartial, config.partialAnswerFlushMs - sinceFlush);
    };
    const finish = (outcome: { text: string; status: MessageStatus; cached: boolean; tokens: number; promptTokens?: number }) => {
      endStreaming();
      const endedAt = performance.now();
      const generatingMs = firstTokenAt === undefined ? 0 : endedAt - firstTokenAt;
      const timings: TurnTimings = {
        ttftMs: firstTokenAt === undefined ? null : round(firstTokenAt - turn.receivedAt),
        totalMs: round(endedAt - turn.receivedAt),
        tokens: outcome.tokens,
        tokensPerSecond: generatingMs > 0 && outcome.tokens > 1 ? round(((outcome.tokens - 1) * 1000) / generatingMs) : null,
        ...(outcome.promptTokens !== undefined && { promptTokens: outcome.promptTokens }),
      };
      store.updateMessage(answerId, outcome.text, outcome.status);
      const interrupted = outcome.status !== 'complete';
      store.recordTimings({ turnId, conversationId, provider: provider.kind, model: provider.modelId, cached: outcome.cached, interrupted, timings });
      emit({
        type: 'done',
        turnId,
        conversationId,
        text: outcome.text,
        cached: outcome.cached,
        interrupted,
        provider: provider.kind,
        model: provider.modelId,
        timings,
      });
    };

    if (cancelled.aborted) {
      // Stopped while waiting for the previous answer: nothing was generated.
      finish({ text: '', status: 'interrupted', cached: false, tokens: 0 });
      return;
    }
    for (;;) {
      const history = this.historyFor(provider, earlier, question, answerTokens);
      const key = responseCacheKey({
        provider: provider.kind,
        modelId: provider.modelId,
        promptVersion: config.promptVersion,
        question,
        history,
      });
      const cachedAnswer = cache.get(key);
      if (cachedAnswer !== undefined) {
        onToken(cachedAnswer);
        finish({ text: cachedAnswer, status: 'complete', cached: true, tokens: 1 });
        return;
      }

      const inFlight = this.inFlight.get(key);
      const generation = inFlight && !inFlight.stopped ? inFlight : this.startGeneration(key, provider, { question, history, answerTokens });
      const subscription = generation.subscribe(onToken);
      if (cancelled.aborted) subscription.cancel();
      else cancelled.addEventListener('abort', subscription.cancel, { once: true });
      let outcome: GenerationOutcome;
      try {
        outcome = await subscription.outcome;
      } catch (error) {
        const shape = toErrorShape(error);
        const canRetry = streamed === '' && (shape.code === 'PROVIDER_UNAVAILABLE' || shape.code === 'GENERATION_FAILED');
        const fallback = canRetry ? await this.deps.llm.fallBackFrom(provider, shape.message) : undefined;
        if (fallback) {
          provider = fallback;
          try {
            // The new model's context may be smaller: budget the answer for it.
            answerTokens = this.answerTokenBudget(provider, question);
          } catch (budgetError) {
            endStreaming();
            store.updateMessage(answerId, streamed, 'interrupted');
            throw budgetError;
          }
          continue;
        }
        endStreaming();
        store.updateMessage(answerId, streamed, 'interrupted');
        throw error;
      }
      finish({
        text: outcome.text,
        status: outcome.aborted ? 'interrupted' : 'complete',
        cached: false,
        tokens: outcome.tokens,
        ...(outcome.promptTokens !== undefined && { promptTokens: outcome.promptTokens }),
      });
      return;
    }
  }

  /** The conversation so far, cut to what fits beside the system prompt, the question and the answer. */
  private historyFor(provider: LlmProvider, earlier: ChatMessage[], question: string, answerTokens: number): LlmChatMessage[] {
    const { config } = this.deps;
    const budget = provider.contextTokens - answerTokens - provider.countTokens(config.systemPrompt) - provider.countTokens(question) - PROMPT_MARGIN_TOKENS;
    return selectHistoryWithinBudget(toLlmHistory(earlier), Math.max(0, budget), (text) => provider.countTokens(text));
  }

  private startGeneration(
    key: string,
    provider: LlmProvider,
    turn: { question: string; history: LlmChatMessage[]; answerTokens: number },
  ): SharedGeneration {
    const { config, cache } = this.deps;
    const generation = new SharedGeneration((signal, onToken) =>
      provider.generate({
        systemPrompt: config.systemPrompt,
        history: turn.history,
        question: turn.question,
        maxTokens: turn.answerTokens,
        signal,
        onToken,
      }),
    );
    this.inFlight.set(key, generation);
    generation.completed
      .then((result) => {
        // Only complete answers are worth replaying.
        if (!result.aborted && result.text.trim() !== '') cache.set(key, result.text);
      })
      .catch(() => undefined)
      .finally(() => {
        // A stopped generation may already have been replaced by a new one for the same question.
        if (this.inFlight.get(key) === generation) this.inFlight.delete(key);
      });
    return generation;
  }
}

function toLlmHistory(messages: ChatMessage[]): LlmChatMessage[] {
  return messages.filter((message) => message.text.trim() !== '').map((message) => ({ role: message.role, text: message.text }));
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

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
