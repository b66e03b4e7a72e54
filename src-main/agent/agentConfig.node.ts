import path from 'node:path';
import { resolveEnvSettings, type LLM_PROVIDERS, type LOG_LEVELS, type SettingValues } from './agentSettings.node.js';

export { defaultDataDir } from './agentSettings.node.js';

export type LlmProviderChoice = (typeof LLM_PROVIDERS)[number];

export interface AgentConfig {
  /** Where the SQLite file (conversations, timings, cache) lives. */
  dataDir: string;
  maxQuestionChars: number;
  maxAnswerTokens: number;
  /** pino's level for the log files; `debug` also logs question and answer text. */
  logLevel: (typeof LOG_LEVELS)[number];
  systemPrompt: string;
  /** Bump when the system prompt or prompt format changes: cached answers of the old prompt then stop matching. */
  promptVersion: string;
  llm: {
    provider: LlmProviderChoice;
    /** Path to a GGUF file, or a manifest model id (saved by the app); when absent the manifest's default model. */
    modelPath?: string;
    threads: number;
    contextSize: number;
    ollamaHost: string;
    ollamaModel: string;
    ollamaKeepAlive: string;
    /** How long startup waits for Ollama to answer before choosing the embedded model. */
    ollamaProbeTimeoutMs: number;
    /**
     * How long a question waits for Ollama's first token (Ollama sends its headers with it: connecting, its queue,
     * loading an evicted model, prefill). Past it the turn falls back to the embedded model.
     */
    ollamaFirstTokenTimeoutMs: number;
    /** The OpenAI-compatible server (provider `openai`); its key comes from ASSISTANT_OPENAI_API_KEY. */
    openaiBaseUrl: string;
    /** Unset: the only model the server lists (several: the first question says which to choose). */
    openaiModel?: string;
  };
  cache: { maxEntries: number; maxBytes: number };
  voice: {
    /** Load the voice stack (VAD, speech-to-text, text-to-speech) at startup. Off for the text-only CLI. */
    enabled: boolean;
    stt: 'auto' | 'whisper' | 'sphinx';
    /** Whisper model id or file; default: the manifest's default Whisper model. */
    whisperModel?: string;
    sttThreads?: number;
    /**
     * Whisper: how often the open tail of an utterance is decoded again for an interim transcript (ms of new audio; 0 =
     * never, only the final pieces). 'auto': every second. PocketSphinx reports interim transcripts as it decodes.
     */
    partialTranscriptMs: number | 'auto';
    maxUtteranceMs: number;
  };
  /** The guardrails: on by default; each guard's own settings are kept in settings.json. */
  guards: { enabled: boolean };
  /** The user's documents: retrieval in every turn, with Chroma as the vector index. */
  documents: {
    enabled: boolean;
    /** A remote Chroma; absent: a local server started when first needed. */
    chromaUrl?: string;
    chromaToken?: string;
    /** Absent: USE-lite, built in. */
    embedder?: string;
    /** The retrieval step's time limit (a cold embedder included); past it, the turn is answered without documents. */
    retrievalTimeoutMs: number;
  };
  /** better-sqlite3-multiple-ciphers addon built for another ABI (Electron's); absent means the one in node_modules. */
  sqliteNativeBinding?: string;
  /** Encrypt the profile's databases (SQLCipher); a profile that already keeps a key stays encrypted either way. */
  encryptDatabase: boolean;
  /** How often a streaming answer is written to SQLite, so a crash loses at most this much of it. */
  partialAnswerFlushMs: number;
  /** Time limits of the built-in prepare steps. The provider's covers loading the model at startup. */
  prepare: {
    providerTimeoutMs: number;
    historyTimeoutMs: number;
    cacheTimeoutMs: number;
    /** Run the prepare steps one after another instead of at once: only the benchmark's baseline does this. */
    sequential: boolean;
  };
  /** A stage that takes longer than this (ms) writes a warning to the log and counts as slow in the metrics. */
  slowStageMs: Record<string, number>;
  /** A council turn's time limits per member and stage (ms); each absent one is the council's default (60 s, 60 s, 120 s). */
  council?: { timeouts?: { answerMs?: number; rankingMs?: number; synthesisMs?: number } };
}

export type AgentConfigOverrides = Partial<Omit<AgentConfig, 'llm' | 'cache' | 'voice' | 'prepare' | 'documents' | 'guards'>> & {
  guards?: Partial<AgentConfig['guards']>;
  documents?: Partial<AgentConfig['documents']>;
  prepare?: Partial<AgentConfig['prepare']>;
  llm?: Partial<AgentConfig['llm']>;
  cache?: Partial<AgentConfig['cache']>;
  voice?: Partial<AgentConfig['voice']>;
  /**
   * The model tier for the session (`--tier`): fast, balanced, quality or auto. Not validated with the other settings:
   * an invalid name warns and means balanced.
   */
  tier?: string;
};

/**
 * Defaults, then the settings saved in the data dir, then environment variables, then explicit overrides (CLI flags,
 * tests). The env vars and their defaults are described once, in agentSettings; a bad value throws InvalidSettingError
 * naming the variable.
 */
export function resolveAgentConfig(
  overrides: AgentConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
  saved: SettingValues = {},
): AgentConfig {
  const fromEnv = resolveEnvSettings(env, saved);
  const defaults: AgentConfig = {
    dataDir: fromEnv.dataDir,
    maxQuestionChars: fromEnv.maxQuestionChars,
    maxAnswerTokens: fromEnv.maxAnswerTokens,
    logLevel: fromEnv.logLevel,
    ...(fromEnv.sqliteNativeBinding !== undefined && { sqliteNativeBinding: fromEnv.sqliteNativeBinding }),
    // Off unless asked for: the Electron app asks for it (ASSISTANT_ENCRYPT=off still wins there).
    encryptDatabase: fromEnv.encrypt ?? false,
    systemPrompt:
      'You are a helpful voice assistant running on the user\'s own computer. Answer briefly and clearly, in plain sentences that read well aloud.',
    promptVersion: '1',
    llm: {
      provider: fromEnv.provider,
      ...(fromEnv.model !== undefined && { modelPath: fromEnv.model }),
      threads: fromEnv.threads,
      contextSize: fromEnv.contextSize,
      ollamaHost: fromEnv.ollamaHost,
      ollamaModel: fromEnv.ollamaModel,
      ollamaKeepAlive: fromEnv.ollamaKeepAlive,
      ollamaProbeTimeoutMs: 800,
      ollamaFirstTokenTimeoutMs: 60_000,
      openaiBaseUrl: fromEnv.openaiBaseUrl,
      ...(fromEnv.openaiModel !== undefined && { openaiModel: fromEnv.openaiModel }),
    },
    cache: { maxEntries: 500, maxBytes: 8 * 1024 * 1024 },
    voice: {
      enabled: fromEnv.voice,
      stt: fromEnv.stt,
      ...(fromEnv.whisperModel !== undefined && { whisperModel: fromEnv.whisperModel }),
      ...(fromEnv.sttThreads !== undefined && { sttThreads: fromEnv.sttThreads }),
      partialTranscriptMs: 'auto',
      maxUtteranceMs: 60_000,
    },
    guards: { enabled: fromEnv.guards },
    documents: {
      enabled: fromEnv.documents,
      ...(fromEnv.chromaUrl !== undefined && { chromaUrl: fromEnv.chromaUrl }),
      ...(fromEnv.chromaToken !== undefined && { chromaToken: fromEnv.chromaToken }),
      ...(fromEnv.embedder !== undefined && { embedder: fromEnv.embedder }),
      retrievalTimeoutMs: 4_000,
    },
    partialAnswerFlushMs: 200,
    prepare: { providerTimeoutMs: 180_000, historyTimeoutMs: 5_000, cacheTimeoutMs: 2_000, sequential: false },
    slowStageMs: {
      queue: 30_000,
      provider: 1_000,
      history: 50,
      cache: 50,
      retrieval: 250,
      'first-token': 1_500,
      'first-sentence': 2_500,
      generate: 30_000,
      stt: 1_500,
      tts: 1_000,
      // A council member's time per stage (`council-<stage>:<model>` counts under `council-<stage>`).
      'council-1': 20_000,
      'council-2': 20_000,
      'council-3': 40_000,
    },
  };
  const merged = { ...defaults, ...stripUndefined(overrides) };
  return {
    ...merged,
    // Absolute once, here: every log line and message names the same folder whatever the working directory becomes.
    dataDir: path.resolve(merged.dataDir),
    llm: { ...defaults.llm, ...stripUndefined(overrides.llm ?? {}) },
    cache: { ...defaults.cache, ...stripUndefined(overrides.cache ?? {}) },
    voice: { ...defaults.voice, ...stripUndefined(overrides.voice ?? {}) },
    prepare: { ...defaults.prepare, ...stripUndefined(overrides.prepare ?? {}) },
    documents: { ...defaults.documents, ...stripUndefined(overrides.documents ?? {}) },
    guards: { ...defaults.guards, ...stripUndefined(overrides.guards ?? {}) },
    slowStageMs: { ...defaults.slowStageMs, ...overrides.slowStageMs },
  } as AgentConfig;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
