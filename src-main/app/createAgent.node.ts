import {
  AgentCommand,
  AgentError,
  type AgentEvent,
  type CommandArgs,
  type CommandName,
  documentsCommandSchemas,
  type CommandResult,
  toErrorShape,
  type VoiceSettings,
} from '../../src-shared/contract/index.js';
import { resolveAgentConfig, type AgentConfig, type AgentConfigOverrides } from '../agent/agentConfig.node.js';
import { createAgentCore, openAgentDatabase } from '../agent/agentCore.node.js';
import type { AgentLogger } from '../agent/agentLogger.js';
import type { AgentService, CallContext } from '../agent/agentService.js';
import { dispatchCommand, type CommandHandlers } from '../agent/commandHandlers.js';
import type { LlmProviderFactories } from '../agent/llm/llmProviderManager.node.js';
import type { OutputCheck } from '../agent/turn/answerStream.js';
import type { PluggedPrepareStep } from '../agent/turn/prepareStep.js';
import { DatabaseKeyring, type DatabaseKeyStore } from '../agent/memory/databaseKey.node.js';
import { databasePathOf } from '../agent/memory/dataDirectory.node.js';
import type { SqliteOpenOptions } from '../agent/memory/sqliteDatabase.node.js';
import { databaseFileState } from '../agent/memory/sqliteConnection.node.js';
import { realVoiceEngines } from '../voice/realVoiceEngines.node.js';
import { VoiceSession, type VoiceEngines } from '../voice/voiceSession.node.js';
import { loadKnownModels } from '../models/modelManifest.node.js';
import type { DocumentLibrary } from '../documents/documentLibrary.node.js';
import { documentRetrievalStep } from '../documents/documentRetrievalStep.js';
import { createDocumentLibrary, type DocumentLibraryTuning } from './documentLibraryFactory.node.js';
import { createGuardrails } from './guardrailsFactory.node.js';
import {
  AppSettings,
  DatabaseSettingsStore,
  SavedSettingsFile,
  savedSettingValues,
  type SavedSettingsRead,
  type SavedSettingsStore,
} from './appSettings.node.js';
import { createDeferredLogger, createFileLogger } from './fileLogger.node.js';
import { ModelManager } from './modelManager.node.js';
import { realLlmFactories } from './realLlmFactories.node.js';
import { chatModelOfTier, sessionTiers } from './sessionTiers.node.js';
import type { ResolvedTierSettings } from '../agent/tiers/tierSettings.js';
import { StageMetrics } from './stageMetrics.node.js';

export { realLlmFactories };

export interface CreateAgentOptions {
  config?: AgentConfigOverrides;
  /** Replaces the real provider factories; used by tests that exercise the fallback. */
  llmFactories?: LlmProviderFactories;
  /** Replaces the real voice engines (e.g. to choose a recogniser in tests). */
  voiceEngines?: VoiceEngines;
  /** Replaces the JSON-lines log files in `<data dir>/logs/`. */
  logger?: AgentLogger;
  /** Retrieval and input checks, run beside the built-in prepare steps. */
  prepareSteps?: readonly PluggedPrepareStep[];
  outputCheck?: OutputCheck;
  /**
   * The user's documents (when `config.documents.enabled`). `background`: watch folders and resume queued ingestion
   * (the app and the headless host; one-shot CLI commands leave it off).
   */
  documents?: DocumentLibraryTuning;
  /**
   * Where the databases' key is kept when the profile has none yet: the Electron app's keychain-sealed file. Default:
   * ASSISTANT_DB_KEY, else a 0600 key file in the data dir. Encryption itself is `config.encryptDatabase`.
   */
  databaseKeyStore?: DatabaseKeyStore;
  /** Tests: stops the encryption of a plaintext database at a step, as a crash would. */
  onEncryptionStep?: SqliteOpenOptions['onEncryptionStep'];
}

export type Agent = AgentService & {
  readonly config: AgentConfig;
  /** The voice pipeline, when `config.voice.enabled`. */
  readonly voice: VoiceSession | undefined;
  /** Per-stage Prometheus metrics (the headless host serves them at /metrics). */
  readonly metrics: StageMetrics;
  /** The user's documents, when `config.documents.enabled`. */
  readonly documents: DocumentLibrary | undefined;
  /** Resolves when the guardrails are warm (the injection check's phrasings embedded); at once without guards. */
  whenGuardsWarm(): Promise<void>;
  /** Where the log files are, when the agent writes its own. */
  readonly logDir: string | undefined;
  /** The agent's structured log (the files in `logDir`, or the logger given in the options), for its hosts to write to. */
  readonly logger: AgentLogger;
  sendMicFrame(pcm: Int16Array): void;
};

/**
 * The composition root: builds the assistant from its real parts (LLM providers, SQLite memory and cache, the turn
 * pipeline, voice, logs and metrics) behind the shared command/event contract. Electron, the headless host, the CLI,
 * the bench and the tests all use this.
 */
export function createAgent(options: CreateAgentOptions = {}): Agent {
  // The models the app knows (a bad ASSISTANT_MODELS_MANIFEST stops here, naming the file), and the settings kept in
  // the data dir: flag > env > saved > default.
  const known = loadKnownModels();
  // What the launch fixes before any saved setting: the data dir, encryption and the SQLite addon (flag > env > default).
  const launch = resolveAgentConfig(options.config);
  const deferred = createDeferredLogger();
  const logger = options.logger ?? deferred.logger;
  // One keyring for the profile's two databases (conversations and documents): the key is read once.
  const database: SqliteOpenOptions = {
    keys: new DatabaseKeyring({ dataDir: launch.dataDir, ...(options.databaseKeyStore && { store: options.databaseKeyStore }) }),
    ...(options.onEncryptionStep && { onEncryptionStep: options.onEncryptionStep }),
  };
  // Opened first: throws DATA_DIR_UNUSABLE, DATABASE_CORRUPT or DATABASE_KEY_INVALID before anything (the log folder) is
  // written into the profile. An encrypted profile keeps its saved settings in it, not in settings.json.
  const db = openAgentDatabase(launch, logger, database);
  let settingsFile: SavedSettingsStore;
  let savedRead: SavedSettingsRead;
  let config: AgentConfig;
  let tiers: ResolvedTierSettings;
  try {
    const settingsJson = new SavedSettingsFile(launch.dataDir);
    const databasePath = databasePathOf(launch.dataDir);
    settingsFile = databaseFileState(databasePath) === 'encrypted' ? new DatabaseSettingsStore(db, databasePath, settingsJson) : settingsJson;
    savedRead = settingsFile.read();
    // The settings kept in the profile: flag > env > saved > default.
    config = resolveAgentConfig(options.config, process.env, savedSettingValues(savedRead.settings));
    tiers = sessionTiers(config, options.config?.tier, {
      ...(savedRead.settings.tier !== undefined && { tier: savedRead.settings.tier }),
      ...(savedRead.settings.tiers !== undefined && { tiers: savedRead.settings.tiers }),
    });
    config = { ...config, llm: chatModelOfTier(config.llm, tiers) };
  } catch (error) {
    db.close();
    throw error;
  }
  // The chat model comes from the saved settings (not a flag or env var): its errors say so, with the fix.
  const chatModelSavedIn =
    savedRead.settings.llmModel !== undefined && options.config?.llm?.modelPath === undefined && !process.env.ASSISTANT_LLM_MODEL
      ? settingsFile.path
      : undefined;
  const logLevel = config.logLevel;
  const metrics = new StageMetrics();
  // Retrieval runs in every turn once the library exists (it is opened after the core, which checks the data dir).
  let documents: DocumentLibrary | undefined;
  // The guardrails' events go out through the core's emitter too, once it exists.
  let emitLater: (event: AgentEvent) => void = () => undefined;
  const guarding = config.guards.enabled
    ? createGuardrails({
        settings: () => settings.saved.guards ?? {},
        // The injection check embeds the question with the documents' embedder: retrieval and it share one vector.
        embedder: () => documents?.embedder,
        maxQuestionChars: config.maxQuestionChars,
        emit: (event) => emitLater(event),
        logger,
      })
    : undefined;
  const guardrails = guarding?.guardrails;
  const retrieval = documentRetrievalStep(
    async (question, signal) => (documents ? (await documents.searchNoting(question, signal)).results : []),
    config.documents.retrievalTimeoutMs,
    guardrails && ((input, passages, signal) => guardrails.filterPassages(input, passages, signal)),
  );
  const prepareSteps = [...(config.documents.enabled ? [retrieval] : []), ...(guardrails?.inputSteps() ?? []), ...(options.prepareSteps ?? [])];
  const outputCheck = options.outputCheck ?? guardrails?.outputCheck();
  const agentCore = createAgentCore({
    config,
    llmFactories: options.llmFactories ?? realLlmFactories(config, chatModelSavedIn),
    logger,
    ...(prepareSteps.length > 0 && { prepareSteps }),
    ...(outputCheck && { outputCheck }),
    ...(guardrails && { redactForStorage: guardrails.redactForStorage }),
    onStageEnd: (record) => metrics.record(record),
    // A council ranks its answers by their agreement, in the documents' embedding space, when no ranking is usable.
    tiers,
    embedTexts: async (texts) => {
      const embedder = documents?.embedder;
      if (!embedder) throw new AgentError('EMBEDDER_FAILED', 'Documents are off, so there is no embedder.');
      return (await embedder.embed(texts)).map((vector) => Array.from(vector));
    },
    db,
  });
  emitLater = agentCore.emit;
  for (const warning of tiers.warnings) {
    logger.warn({ reason: warning }, 'tier setting ignored');
    setImmediate(() => agentCore.emit({ type: 'notice', level: 'warning', message: warning }));
  }
  // Once the chat model is loaded (not competing with it), the injection check's phrasings are embedded.
  const guardsWarm = agentCore.whenReady().then(
    () => guarding?.warmUp(),
    () => undefined,
  );
  let documentsProblem = 'Documents are turned off for this session (ASSISTANT_DOCUMENTS=off).';
  if (config.documents.enabled) {
    try {
      documents = createDocumentLibrary(
        config,
        { emit: agentCore.emit, logger, database: { nativeBinding: config.sqliteNativeBinding, encrypt: config.encryptDatabase, ...database } },
        options.documents,
      );
    } catch (error) {
      // Chat goes on without documents; the reason (a damaged documents database, a bad embedder setting) is shown.
      documentsProblem = `Documents are unavailable: ${toErrorShape(error).message}`;
      logger.error({ reason: documentsProblem }, 'documents unavailable');
      setImmediate(() => agentCore.emit({ type: 'notice', level: 'warning', message: documentsProblem }));
    }
  }
  const fileLog = options.logger ? undefined : createFileLogger({ dataDir: config.dataDir, level: logLevel });
  if (fileLog) deferred.attach(fileLog.logger);
  const settings = new AppSettings({ file: settingsFile, initial: savedRead, flags: options.config ?? {}, env: process.env, manifest: known.manifest });
  if (savedRead.problem !== undefined) {
    // Once per launch: in the log, and as a notice for whoever listens from the start (the CLI, a connected UI).
    logger.warn({ file: settingsFile.path, reason: savedRead.problem }, 'saved settings ignored');
    const problem = savedRead.problem;
    setImmediate(() => agentCore.emit({ type: 'notice', level: 'warning', message: problem }));
  }
  const models = new ModelManager({ config, known, llm: agentCore.llm, settings, emit: agentCore.emit, logger });

  const voice = config.voice.enabled
    ? new VoiceSession({
        chat: {
          // Stage times count from the end of speech; speech-to-text is the turn's first stage.
          startTurn: (request) => agentCore.turns.start({ ...request, voice: true }),
          cancelTurn: (turnId) => void agentCore.turns.cancel(turnId),
          speculate: (request) => agentCore.turns.speculate(request),
          listen: (listener) => agentCore.listen(listener),
        },
        engines: options.voiceEngines ?? realVoiceEngines(config),
        emit: agentCore.emit,
        ...(settings.saved.voice && { settings: settings.saved.voice }),
        maxUtteranceMs: config.voice.maxUtteranceMs,
      })
    : undefined;
  const requireVoice = (): VoiceSession => {
    if (!voice) throw new AgentError('STT_UNAVAILABLE', 'Voice is turned off for this session (ASSISTANT_VOICE=off).');
    return voice;
  };
  /** Voice settings changed in the app are kept for the next start; failing to keep them does not undo them. */
  const keepVoiceSettings = (applied: VoiceSettings) => {
    try {
      settings.saveVoice(applied);
    } catch (error) {
      logger.warn({ reason: toErrorShape(error).message }, 'could not save the voice settings');
    }
    return applied;
  };
  const voiceHandlers: CommandHandlers = {
    'voice:configure': async (args) =>
      keepVoiceSettings(await requireVoice().configure(args as Partial<VoiceSettings> & { conversationId?: string | null })),
    'voice:ptt': ({ pressed }) => ({ state: requireVoice().ptt(pressed) }),
    'voice:status': () => requireVoice().getStatus(),
    'voice:interrupt': () => ({ interrupted: requireVoice().interrupt() }),
  };
  const settingsHandlers: CommandHandlers = {
    'settings:get': () => settings.view(),
    'settings:set': async (patch) => {
      // Voice settings apply at once (and a voice that does not exist is refused before anything is saved); the
      // others apply from the next start (models:use switches the chat model now).
      // A model choice that is no model is refused before anything is saved, like models:use does.
      const checked = await models.checkSettingsPatch(patch);
      if (patch.voice !== undefined && voice) await voice.configure(patch.voice);
      settings.update(checked);
      return settings.view();
    },
  };
  const documentHandlers: CommandHandlers = documents?.handlers ?? documentsOffHandlers(documentsProblem);
  const handlers: CommandHandlers = { ...agentCore.handlers, ...voiceHandlers, ...models.handlers, ...settingsHandlers, ...documentHandlers };
  let closed = false;

  return {
    config,
    voice,
    metrics,
    documents,
    whenGuardsWarm: () => guardsWarm,
    logDir: fileLog?.logDir,
    logger,
    sendMicFrame(pcm) {
      if (!closed) void voice?.pushFrame(pcm);
    },
    call<C extends CommandName>(command: C, args?: CommandArgs<C>, signal?: AbortSignal, context?: CallContext): Promise<CommandResult<C>> {
      if (closed) return Promise.reject(new AgentError('INTERNAL', 'The agent has shut down.'));
      const result = dispatchCommand(handlers, command, args, context) as Promise<CommandResult<C>>;
      if (signal && command === AgentCommand.chatSend) {
        // Cancelling the call that started a turn cancels the turn.
        void result.then(
          (value) => {
            const turnId = (value as { turnId: string }).turnId;
            if (signal.aborted) agentCore.turns.cancel(turnId);
            else signal.addEventListener('abort', () => agentCore.turns.cancel(turnId), { once: true });
          },
          () => undefined, // a refused turn: the caller gets the rejection from `result`
        );
      }
      return result;
    },
    listen: (listener: (event: AgentEvent) => void) => agentCore.listen(listener),
    whenReady: () => agentCore.whenReady(),
    async close() {
      if (closed) return;
      closed = true;
      await models.close();
      await voice?.dispose();
      await documents?.close();
      await guarding?.close();
      await agentCore.close();
      await fileLog?.close();
    },
  };
}

/** Without documents (turned off, or their database could not be opened) every docs: command says why. */
function documentsOffHandlers(problem: string): CommandHandlers {
  const off = () => {
    throw new AgentError('NOT_FOUND', problem);
  };
  return Object.fromEntries(Object.keys(documentsCommandSchemas).map((name) => [name, off])) as CommandHandlers;
}
