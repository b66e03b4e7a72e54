import path from 'node:path';
import {
  AgentCommand,
  assertCommandName,
  parseCommandArgs,
  type AgentEvent,
  type CommandArgs,
  type CommandName,
  type CommandResult,
  AgentError,
} from '../../src-shared/contract/index.js';
import { resolveDefaultModel } from '../models/modelResolver.node.js';
import { resolveAgentConfig, type AgentConfig, type AgentConfigOverrides } from './agentConfig.node.js';
import type { AgentService } from './agentService.js';
import { ResponseCache } from './cache/responseCache.node.js';
import { EmbeddedLlamaProvider } from './llm/embeddedLlamaProvider.node.js';
import { LlmProviderManager, type LlmProviderFactories } from './llm/llmProviderManager.node.js';
import { OllamaLlmProvider, probeOllama } from './llm/ollamaProvider.node.js';
import { ConversationStore } from './memory/conversationStore.node.js';
import { openSqliteDatabase } from './memory/sqliteDatabase.node.js';
import { databasePathOf } from './memory/dataDirectory.node.js';
import { ChatTurnRunner } from './turn/chatTurnRunner.node.js';
import { silentLogger, type AgentLogger } from './agentLogger.js';
import type { OutputCheck } from './turn/answerStream.js';
import type { PluggedPrepareStep } from './turn/prepareStep.js';
import { TurnObserver, type StageRecord } from './turn/turnObserver.js';
import { realVoiceEngines } from '../voice/realVoiceEngines.node.js';
import { VoiceSession, type VoiceEngines } from '../voice/voiceSession.node.js';

export interface CreateAgentOptions {
  config?: AgentConfigOverrides;
  /** Replaces the real provider factories; used by tests that exercise the fallback. */
  llmFactories?: LlmProviderFactories;
  /** Replaces the real voice engines (e.g. to choose a recogniser in tests). */
  voiceEngines?: VoiceEngines;
  logger?: AgentLogger;
  /** Retrieval and input checks, run beside the built-in prepare steps. */
  prepareSteps?: readonly PluggedPrepareStep[];
  outputCheck?: OutputCheck;
  /** Every ended stage of every turn (metrics). */
  onStageEnd?(record: StageRecord): void;
}

export type Agent = AgentService & {
  readonly config: AgentConfig;
  /** The voice pipeline, when `config.voice.enabled`. */
  readonly voice: VoiceSession | undefined;
  sendMicFrame(pcm: Int16Array): void;
};

/** The real provider factories for a config: embedded GGUF via node-llama-cpp, Ollama via its HTTP API. */
export function realLlmFactories(config: AgentConfig): LlmProviderFactories {
  return {
    createEmbedded: () => {
      let modelPath = config.llm.modelPath;
      if (modelPath === undefined) {
        const resolution = resolveDefaultModel('llm');
        if (!resolution.found) throw new AgentError('MODEL_MISSING', resolution.message);
        modelPath = resolution.path;
      }
      return new EmbeddedLlamaProvider({ modelPath: path.resolve(modelPath), threads: config.llm.threads, contextSize: config.llm.contextSize });
    },
    createOllama: () =>
      new OllamaLlmProvider({ host: config.llm.ollamaHost, model: config.llm.ollamaModel, keepAlive: config.llm.ollamaKeepAlive }),
    probeOllama: () => probeOllama(config.llm.ollamaHost, config.llm.ollamaModel, config.llm.ollamaProbeTimeoutMs),
  };
}

/**
 * Builds the agent: SQLite memory + response cache, the LLM provider (loaded and warmed right away), and the turn
 * runner behind the shared command/event contract. Host-agnostic: Electron, the headless host, the CLI and tests
 * all use this.
 */
export function createAgent(options: CreateAgentOptions = {}): Agent {
  const config = resolveAgentConfig(options.config);
  const listeners = new Set<(event: AgentEvent) => void>();
  const emit = (event: AgentEvent) => {
    for (const listener of listeners) listener(event);
  };

  const db = openSqliteDatabase(config.dataDir, config.sqliteNativeBinding);
  const store = new ConversationStore(db);
  store.recoverCrashedTurns();
  const cache = new ResponseCache(db, config.cache);
  const llm = new LlmProviderManager({
    choice: config.llm.provider,
    factories: options.llmFactories ?? realLlmFactories(config),
    onStatus: (status) => emit({ type: 'status', status: { llm: status } }),
    onNotice: (message) => emit({ type: 'notice', level: 'warning', message }),
  });
  const logger = options.logger ?? silentLogger;
  const observer = new TurnObserver({
    emit,
    logger,
    slowStageMs: config.slowStageMs,
    onStageEnd: (record) => {
      store.recordStage(record.turnId, record.name, record.startMs, record.endMs);
      options.onStageEnd?.(record);
    },
  });
  const turns = new ChatTurnRunner({
    config,
    store,
    cache,
    llm,
    emit,
    observer,
    logger,
    ...(options.prepareSteps && { prepareSteps: options.prepareSteps }),
    ...(options.outputCheck && { outputCheck: options.outputCheck }),
  });
  const ready = llm.start();
  const voice = config.voice.enabled
    ? new VoiceSession({
        chat: {
          startTurn: (text, conversationId) => turns.start({ text, conversationId }),
          cancelTurn: (turnId) => void turns.cancel(turnId),
          listen: (listener) => {
            listeners.add(listener);
            return () => listeners.delete(listener);
          },
        },
        engines: options.voiceEngines ?? realVoiceEngines(config),
        emit,
        partialTranscriptMs: config.voice.partialTranscriptMs,
        maxUtteranceMs: config.voice.maxUtteranceMs,
      })
    : undefined;
  const requireVoice = (): VoiceSession => {
    if (!voice) throw new AgentError('STT_UNAVAILABLE', 'Voice is turned off for this session (ASSISTANT_VOICE=off).');
    return voice;
  };
  let closed = false;

  async function handle<C extends CommandName>(command: C, rawArgs: unknown): Promise<CommandResult<C>> {
    if (closed) throw new AgentError('INTERNAL', 'The agent has shut down.');
    const name = assertCommandName(command);
    const args = parseCommandArgs(name, rawArgs) as Record<string, unknown> | undefined;
    switch (name) {
      case AgentCommand.chatSend: {
        const { turnId, conversationId } = await turns.start(args as CommandArgs<'chat:send'>);
        return { turnId, conversationId } as CommandResult<C>;
      }
      case AgentCommand.chatCancel:
        return { cancelled: turns.cancel((args as { turnId: string }).turnId) } as CommandResult<C>;
      case AgentCommand.conversationsList:
        return store.listConversations() as CommandResult<C>;
      case AgentCommand.conversationsCreate: {
        const conversation = store.createConversation((args as { title?: string } | undefined)?.title?.trim() || 'New conversation');
        emit({ type: 'conversations-changed' });
        return conversation as CommandResult<C>;
      }
      case AgentCommand.conversationsRename: {
        const { id, title } = args as { id: string; title: string };
        const renamed = store.renameConversation(id, title);
        if (!renamed) throw new AgentError('NOT_FOUND', `Conversation ${id} does not exist.`);
        emit({ type: 'conversations-changed' });
        return renamed as CommandResult<C>;
      }
      case AgentCommand.conversationsDelete: {
        const deleted = store.deleteConversation((args as { id: string }).id);
        if (deleted) emit({ type: 'conversations-changed' });
        return { deleted } as CommandResult<C>;
      }
      case AgentCommand.conversationsMessages:
        return store.listMessages((args as { id: string }).id) as CommandResult<C>;
      case AgentCommand.agentStatus:
        return { llm: llm.status } as CommandResult<C>;
      case AgentCommand.voiceConfigure:
        return (await requireVoice().configure(args as Parameters<VoiceSession['configure']>[0])) as CommandResult<C>;
      case AgentCommand.voicePtt:
        return { state: requireVoice().ptt((args as { pressed: boolean }).pressed) } as CommandResult<C>;
      case AgentCommand.voiceStatus:
        return requireVoice().getStatus() as CommandResult<C>;
      case AgentCommand.voiceInterrupt:
        return { interrupted: requireVoice().interrupt() } as CommandResult<C>;
      case AgentCommand.dataStatus:
        return { state: 'ok', dataDir: path.resolve(config.dataDir), databasePath: databasePathOf(config.dataDir) } as CommandResult<C>;
      case AgentCommand.dataResetDatabase:
        // Only a host in recovery mode (createRecoverableAgent) resets; a database in use is never moved.
        throw new AgentError('NOT_FOUND', `The database ${databasePathOf(config.dataDir)} is healthy and in use; there is nothing to reset.`);
    }
    throw new AgentError('UNKNOWN_COMMAND', `Unknown command: ${String(name)}`);
  }

  return {
    config,
    voice,
    sendMicFrame(pcm) {
      if (!closed) void voice?.pushFrame(pcm);
    },
    call(command, args, signal) {
      const result = handle(command, args);
      if (signal && command === AgentCommand.chatSend) {
        // Cancelling the call that started a turn cancels the turn.
        void result.then((value) => {
          const turnId = (value as { turnId: string }).turnId;
          if (signal.aborted) turns.cancel(turnId);
          else signal.addEventListener('abort', () => turns.cancel(turnId), { once: true });
        }, () => undefined);
      }
      return result;
    },
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    whenReady: () => ready,
    async close() {
      if (closed) return;
      closed = true;
      await voice?.dispose();
      await turns.drain();
      await llm.dispose();
      db.close();
      listeners.clear();
    },
  };
}
