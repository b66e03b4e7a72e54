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
    const history = store.listMessages(conversationId);
    const turnId = randomUUID();
    store.addMessage(conversationId, turnId, 'user', question, 'complete');

    let cancel: () => void = () => undefined;
    let cancelled = false;
    const finished = new Promise<void>((resolve) => {
      // After the caller has the turn id, so the id always arrives before the turn's first event.
      setImmediate(() => {
        this.run({ turnId, conversationId, question, history, provider, answerTokens, receivedAt }, (cancelTurn) => {
          cancel = cancelTurn;
          if (cancelled) cancelTurn();
        })
          .catch((error) => this.deps.emit({ type: 'error', turnId, conversationId, ...toErrorShape(error) }))
          .finally(() => {
            this.active.delete(turnId);
            resolve();
          });
      });
    });
    this.active.set(turnId, {
      cancel: () => {
        cancelled = true;
        cancel();
      },
      finished,
    });
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
      question: string;
      history: ChatMessage[];
      provider: LlmProvider;
      answerTokens: number;
      receivedAt: number;
    },
    setCancel: (cancel: () => void) => void,
  ): Promise<void> {
    const { config, store, cache, emit } = this.deps;
    const { turnId, conversationId, question } = turn;
    emit({ type: 'turn-started', turnId, conversationId, question });

    let provider = turn.provider;
    let answerTokens = turn.answerTokens;
    let firstTokenAt: number | undefined;
    let streamed = '';
    const answerId = store.addMessage(conversationId, turnId, 'assistant', '', 'streaming');
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

    for (;;) {
      const key = responseCacheKey({
        provider: provider.kind,
        modelId: provider.modelId,
        promptVersion: config.promptVersion,
        question,
      });
      const cachedAnswer = cache.get(key);
      if (cachedAnswer !== undefined) {
        onToken(cachedAnswer);
        finish({ text: cachedAnswer, status: 'complete', cached: true, tokens: 1 });
        return;
      }

      const inFlight = this.inFlight.get(key);
      const generation = inFlight && !inFlight.stopped ? inFlight : this.startGeneration(key, provider, { ...turn, answerTokens });
      const subscription = generation.subscribe(onToken);
      setCancel(subscription.cancel);
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

  private startGeneration(
    key: string,
    provider: LlmProvider,
    turn: { conversationId: string; question: string; history: ChatMessage[]; answerTokens: number },
  ): SharedGeneration {
    const { config, cache } = this.deps;
    const budget = provider.contextTokens - turn.answerTokens - provider.countTokens(config.systemPrompt) - provider.countTokens(turn.question) - PROMPT_MARGIN_TOKENS;
    const history = selectHistoryWithinBudget(toLlmHistory(turn.history), Math.max(0, budget), (text) => provider.countTokens(text));
    const generation = new SharedGeneration((signal, onToken) =>
      provider.generate({
        systemPrompt: config.systemPrompt,
        history,
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

function titleFrom(question: string): string {
  const oneLine = question.replace(/\s+/g, ' ');
  return oneLine.length <= TITLE_CHARS ? oneLine : `${oneLine.slice(0, TITLE_CHARS - 1)}…`;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
