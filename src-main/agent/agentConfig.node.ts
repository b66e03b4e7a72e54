import os from 'node:os';
import path from 'node:path';
import { DEFAULT_MAX_QUESTION_CHARS } from '../../src-shared/contract/index.js';

export type LlmProviderChoice = 'auto' | 'embedded' | 'ollama';

export interface AgentConfig {
  /** Where the SQLite file (conversations, timings, cache) lives. */
  dataDir: string;
  maxQuestionChars: number;
  maxAnswerTokens: number;
  systemPrompt: string;
  /** Bump when the system prompt or prompt format changes: cached answers of the old prompt then stop matching. */
  promptVersion: string;
  llm: {
    provider: LlmProviderChoice;
    /** Path to a GGUF file; when absent the default model of the manifest is resolved. */
    modelPath?: string;
    threads: number;
    contextSize: number;
    ollamaHost: string;
    ollamaModel: string;
    ollamaKeepAlive: string;
    /** How long startup waits for Ollama to answer before choosing the embedded model. */
    ollamaProbeTimeoutMs: number;
  };
  cache: { maxEntries: number; maxBytes: number };
  voice: {
    /** Load the voice stack (VAD, speech-to-text, text-to-speech) at startup. Off for the text-only CLI. */
    enabled: boolean;
    stt: 'auto' | 'whisper' | 'sphinx';
    /** Whisper model id or file; default: the manifest's default Whisper model. */
    whisperModel?: string;
    sttThreads?: number;
    partialTranscriptMs: number | 'auto';
    maxUtteranceMs: number;
  };
  /** better-sqlite3 addon built for another ABI (Electron's); absent means the one in node_modules. */
  sqliteNativeBinding?: string;
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
}

export type AgentConfigOverrides = Partial<Omit<AgentConfig, 'llm' | 'cache' | 'voice' | 'prepare'>> & {
  prepare?: Partial<AgentConfig['prepare']>;
  llm?: Partial<AgentConfig['llm']>;
  cache?: Partial<AgentConfig['cache']>;
  voice?: Partial<AgentConfig['voice']>;
};

export function defaultDataDir(): string {
  const home = os.homedir();
  const appName = 'local-voice-assistant';
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', appName);
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), appName);
  return path.join(process.env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), appName);
}

function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new Error(`${name} must be a positive integer, got "${value}"`);
  return parsed;
}

function providerChoice(value: string | undefined): LlmProviderChoice | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'auto' || value === 'embedded' || value === 'ollama') return value;
  throw new Error(`ASSISTANT_LLM_PROVIDER must be auto, embedded or ollama, got "${value}"`);
}

/** Defaults, then environment variables, then explicit overrides (CLI flags, tests). */
export function resolveAgentConfig(overrides: AgentConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const defaults: AgentConfig = {
    dataDir: env.ASSISTANT_DATA_DIR || defaultDataDir(),
    maxQuestionChars: positiveInt(env.ASSISTANT_MAX_QUESTION_CHARS, 'ASSISTANT_MAX_QUESTION_CHARS') ?? DEFAULT_MAX_QUESTION_CHARS,
    maxAnswerTokens: positiveInt(env.ASSISTANT_MAX_ANSWER_TOKENS, 'ASSISTANT_MAX_ANSWER_TOKENS') ?? 512,
    systemPrompt:
      'You are a helpful voice assistant running on the user\'s own computer. Answer briefly and clearly, in plain sentences that read well aloud.',
    promptVersion: '1',
    llm: {
      provider: providerChoice(env.ASSISTANT_LLM_PROVIDER) ?? 'auto',
      ...(env.ASSISTANT_LLM_MODEL ? { modelPath: env.ASSISTANT_LLM_MODEL } : {}),
      threads: positiveInt(env.ASSISTANT_LLM_THREADS, 'ASSISTANT_LLM_THREADS') ?? Math.max(1, Math.min(4, os.availableParallelism() - 1)),
      contextSize: positiveInt(env.ASSISTANT_LLM_CONTEXT, 'ASSISTANT_LLM_CONTEXT') ?? 4096,
      ollamaHost: env.OLLAMA_HOST || 'http://127.0.0.1:11434',
      ollamaModel: env.ASSISTANT_OLLAMA_MODEL || 'qwen2.5:1.5b-instruct',
      ollamaKeepAlive: env.ASSISTANT_OLLAMA_KEEP_ALIVE || '30m',
      ollamaProbeTimeoutMs: 800,
    },
    cache: { maxEntries: 500, maxBytes: 8 * 1024 * 1024 },
    voice: {
      enabled: env.ASSISTANT_VOICE !== 'off',
      stt: sttChoice(env.ASSISTANT_STT) ?? 'auto',
      ...(env.ASSISTANT_WHISPER_MODEL ? { whisperModel: env.ASSISTANT_WHISPER_MODEL } : {}),
      ...(env.ASSISTANT_STT_THREADS ? { sttThreads: positiveInt(env.ASSISTANT_STT_THREADS, 'ASSISTANT_STT_THREADS') } : {}),
      partialTranscriptMs: 'auto',
      maxUtteranceMs: 60_000,
    },
    partialAnswerFlushMs: 200,
    prepare: { providerTimeoutMs: 180_000, historyTimeoutMs: 5_000, cacheTimeoutMs: 2_000, sequential: false },
    slowStageMs: {
      queue: 30_000,
      provider: 1_000,
      history: 50,
      cache: 50,
      'first-token': 1_500,
      'first-sentence': 2_500,
      generate: 30_000,
      stt: 1_500,
      tts: 1_000,
    },
  };
  return {
    ...defaults,
    ...stripUndefined(overrides),
    llm: { ...defaults.llm, ...stripUndefined(overrides.llm ?? {}) },
    cache: { ...defaults.cache, ...stripUndefined(overrides.cache ?? {}) },
    voice: { ...defaults.voice, ...stripUndefined(overrides.voice ?? {}) },
    prepare: { ...defaults.prepare, ...stripUndefined(overrides.prepare ?? {}) },
    slowStageMs: { ...defaults.slowStageMs, ...overrides.slowStageMs },
  } as AgentConfig;
}

function sttChoice(value: string | undefined): AgentConfig['voice']['stt'] | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'auto' || value === 'whisper' || value === 'sphinx') return value;
  throw new Error(`ASSISTANT_STT must be auto, whisper or sphinx, got "${value}"`);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
