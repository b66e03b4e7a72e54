import path from 'node:path';
import { AgentError, toErrorShape, type AgentEvent } from '../../src-shared/contract/index.js';
import type { EmbedTexts } from './council/aggregateRankings.js';
import { CouncilSeats } from './council/councilSeats.node.js';
import type { AgentConfig } from './agentConfig.node.js';
import type { AgentLogger } from './agentLogger.js';
import { ResponseCache } from './cache/responseCache.node.js';
import type { CommandHandlers } from './commandHandlers.js';
import { LlmProviderManager, type LlmProviderFactories } from './llm/llmProviderManager.node.js';
import { ConversationStore } from './memory/conversationStore.node.js';
import { databasePathOf } from './memory/dataDirectory.node.js';
import { openSqliteDatabase, type SqliteDatabase, type SqliteOpenOptions } from './memory/sqliteDatabase.node.js';
import { audit } from './audit.js';
import { turnStatsFrom } from './metrics/stageStats.js';
import { loggingCheckFailures, type OutputCheck } from './turn/answerStream.js';
import { ChatTurnRunner, type ChatTurnDeps, type StartedTurn, type TurnRequest } from './turn/chatTurnRunner.node.js';
import { tierRouteStep } from './tiers/tierRouting.js';
import { formatModelSpec, type Tier } from './tiers/modelSpec.js';
import type { ResolvedTierSettings } from './tiers/tierSettings.js';
import type { PluggedPrepareStep } from './turn/prepareStep.js';
import { TurnObserver, type StageRecord } from './turn/turnObserver.js';

export interface AgentCoreOptions {
  config: AgentConfig;
  llmFactories: LlmProviderFactories;
  logger: AgentLogger;
  /** Retrieval and input checks, run beside the built-in prepare steps. */
  prepareSteps?: readonly PluggedPrepareStep[];
  /** Checks every answer sentence before it is shown, spoken, stored or cached. */
  outputCheck?: OutputCheck;
  /** The question as it may be stored and logged (the guardrails mask personal data). */
  redactForStorage?: (text: string) => string;
  /** Every ended stage of every turn (metrics). */
  onStageEnd?(record: StageRecord): void;
  /** Embeds texts (the retrieval embedder): a council ranks its answers by their agreement when no ranking is usable. */
  embedTexts?: EmbedTexts;
  /** The model tiers and the session's choice; absent or untouched (balanced by default): no routing. */
  tiers?: ResolvedTierSettings;
  /** How the profile's database is opened: its keyring (the app's sealed key). Encryption itself is `config.encryptDatabase`. */
  database?: SqliteOpenOptions;
  /** The profile's database, already opened by the caller (the app reads its saved settings from it); closed by `close`. */
  db?: SqliteDatabase;
}

/**
 * The profile's database as the config says: the driver's addon, encryption (a plaintext database is encrypted once,
 * which goes to the audit log), and `options` (the keyring) over that.
 */
export function openAgentDatabase(config: AgentConfig, logger: AgentLogger, options: SqliteOpenOptions = {}): SqliteDatabase {
  return openSqliteDatabase(config.dataDir, {
    nativeBinding: config.sqliteNativeBinding,
    encrypt: config.encryptDatabase,
    onEncrypted: ({ file, tables, rows, ms }) => audit(logger, 'database-encrypted', { file, tables, rows, ms }),
    ...options,
  });
}

/** How many recent turns the "recent" percentiles cover. */
const RECENT_TURNS = 100;

/**
 * The agent itself, without any feature: SQLite memory and response cache, the LLM provider (loaded and warmed at
 * once), the turn pipeline and its observer, and the handlers of the chat, conversation, status and stats commands.
 * Features (voice, documents, guards) plug in from the app: they start turns through `turns` and add handlers.
 */
export function createAgentCore(options: AgentCoreOptions) {
  const { config, logger } = options;
  const listeners = new Set<(event: AgentEvent) => void>();
  let recordVerdict: (event: Extract<AgentEvent, { type: 'guard-verdict' }>) => void = () => undefined;
  const emit = (event: AgentEvent) => {
    // Guard verdicts are part of the turn: stored with it (a blocked turn's too).
    if (event.type === 'guard-verdict') recordVerdict(event);
    for (const listener of listeners) listener(event);
  };

  const db = options.db ?? openAgentDatabase(config, logger, options.database);
  const store = new ConversationStore(db);
  recordVerdict = (event) => {
    try {
      store.recordVerdict(event);
    } catch (error) {
      logger.error({ reason: toErrorShape(error).message }, 'could not store a guard verdict');
    }
  };
  const recovered = store.recoverCrashedTurns();
  if (recovered > 0) logger.warn({ answers: recovered }, 'answers cut off by a crash were kept, marked crashed');
  const cache = new ResponseCache(db, config.cache);
  const llm = new LlmProviderManager({
    choice: config.llm.provider,
    factories: options.llmFactories,
    onStatus: (status) => {
      emit({ type: 'status', status: { llm: status } });
      if (status.state === 'error' || status.state === 'missing') logger.error({ state: status.state, reason: status.message }, 'model not available');
      else logger.info({ state: status.state, provider: status.provider, model: status.model, loadMs: status.loadMs }, 'model status');
    },
    onNotice: (message, level = 'warning') => {
      if (level === 'warning') logger.warn({ notice: message }, 'notice');
      else logger.info({ notice: message }, 'notice');
      emit({ type: 'notice', level, message });
    },
    logger,
  });
  // Stage rows are written together once the moment has passed (setImmediate), so no SQLite write sits between the
  // end of speech and the first token or audio. Whatever reads them writes what is pending first.
  const pendingStages: StageRecord[] = [];
  const writePendingStages = () => {
    if (pendingStages.length === 0) return;
    try {
      store.recordStages(pendingStages.splice(0));
    } catch (error) {
      const shape = toErrorShape(error);
      logger.error({ code: shape.code, reason: shape.message }, 'could not store stage timings');
    }
  };
  const observer = new TurnObserver({
    emit,
    logger,
    slowStageMs: config.slowStageMs,
    onStageEnd: (record) => {
      if (pendingStages.push(record) === 1) setImmediate(writePendingStages);
      options.onStageEnd?.(record);
    },
  });
  const council = new CouncilSeats({
    factories: options.llmFactories,
    chatModel: () => llm.ready(),
    logger,
    ...(options.embedTexts && { embed: options.embedTexts }),
    tierModel: (tier) => {
      const model = options.tiers?.models[tier as Tier];
      return model === undefined || model.kind === 'configured' ? undefined : formatModelSpec(model);
    },
  });
  const tiers = options.tiers;
  const embedTexts = options.embedTexts;
  const routeStep =
    tiers && (tiers.tier === 'auto' || tiers.tierSource !== 'default')
      ? tierRouteStep({
          tiers,
          providerFor: (spec) => council.providerFor(spec),
          embed: async (texts) => (embedTexts ? embedTexts([...texts]) : Promise.reject(new Error('no embedder'))),
        })
      : undefined;
  const route: ChatTurnDeps['route'] = routeStep && ((input) => routeStep(input));
  const runner = new ChatTurnRunner({
    config,
    store,
    cache,
    llm,
    emit,
    observer,
    logger,
    ...(options.prepareSteps && { prepareSteps: options.prepareSteps }),
    ...(options.outputCheck && { outputCheck: loggingCheckFailures(options.outputCheck, logger) }),
    ...(options.redactForStorage && { redactForStorage: options.redactForStorage }),
    council,
    ...(route && { route }),
  });
  const ready = llm.start();

  const handlers: CommandHandlers = {
    'chat:send': async (args, { caller }) => {
      const { turnId, conversationId } = await runner.start({ ...args, caller });
      return { turnId, conversationId };
    },
    'chat:cancel': ({ turnId }) => ({ cancelled: runner.cancel(turnId) }),
    'conversations:list': () => store.listConversations(),
    'conversations:create': (args) => {
      const conversation = store.createConversation(args?.title?.trim() || 'New conversation');
      emit({ type: 'conversations-changed' });
      return conversation;
    },
    'conversations:rename': ({ id, title }) => {
      const renamed = store.renameConversation(id, title);
      if (!renamed) throw new AgentError('NOT_FOUND', `Conversation ${id} does not exist.`);
      emit({ type: 'conversations-changed' });
      return renamed;
    },
    'conversations:delete': ({ id }) => {
      const deleted = store.deleteConversation(id);
      if (deleted) emit({ type: 'conversations-changed' });
      return { deleted };
    },
    'conversations:messages': ({ id }) => store.listMessages(id),
    'agent:status': () => ({ llm: llm.status }),
    'stats:get': () => {
      writePendingStages();
      return { ...turnStatsFrom(store.listStages(), RECENT_TURNS), lastTurn: store.lastTurnStages() };
    },
    'data:status': () => ({ state: 'ok', dataDir: path.resolve(config.dataDir), databasePath: databasePathOf(config.dataDir) }),
    'data:reset-database': () => {
      // Only a host in recovery mode resets; a database in use is never moved.
      throw new AgentError('NOT_FOUND', `The database ${databasePathOf(config.dataDir)} is healthy and in use; there is nothing to reset.`);
    },
  };

  return {
    config,
    handlers,
    /** The chat model: its status, the provider answering now, and switching it at runtime (the models feature). */
    llm,
    turns: {
      start: (request: TurnRequest): Promise<StartedTurn> => runner.start(request),
      cancel: (turnId: string): boolean => runner.cancel(turnId),
      /** A turn prepared on words the user may still add to; `start` adopts it when the final words match. */
      speculate: (request: { text: string; conversationId?: string | undefined }) => runner.speculate(request),
    },
    emit,
    listen(listener: (event: AgentEvent) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    whenReady: () => ready,
    async close(): Promise<void> {
      await runner.drain();
      await council.dispose();
      await llm.dispose();
      writePendingStages();
      db.close();
      listeners.clear();
    },
  };
}

export type AgentCore = ReturnType<typeof createAgentCore>;
