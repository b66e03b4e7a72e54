import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { AgentError, DEFAULT_MAX_QUESTION_CHARS } from '../../src-shared/contract/index.js';
import type { AgentConfigOverrides } from './agentConfig.node.js';

/**
 * The settings a user can give as environment variables or command-line flags: one zod schema per setting, with its
 * env var, its flag (if any), what is allowed and its default. `resolveAgentConfig` reads the env vars from here and the
 * CLI commands read their flags from here, so the two cannot disagree.
 */

export const LLM_PROVIDERS = ['auto', 'embedded', 'ollama', 'openai'] as const;
export const STT_ENGINES = ['auto', 'whisper', 'sphinx'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** Longest path, host or model name accepted (Linux's PATH_MAX). */
const MAX_TEXT_CHARS = 4096;

interface SettingSpec {
  env: string;
  flag?: string;
  /** Parses the raw string of the env var or the flag. */
  value: z.ZodType<unknown, string>;
  /** What is allowed, for the error message: "a whole number from 1 to 256". */
  allowed: string;
  /** Used when neither the env var nor a flag gives a value; absent: the setting stays unset. */
  default?: () => unknown;
}

/** Keeps each spec's literal types (flag name, value type, whether it has a default). */
const setting = <const S extends SettingSpec>(spec: S): S => spec;

const wholeNumber = (min: number, max: number) => ({
  value: z
    .string()
    .regex(/^[0-9]{1,16}$/)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max)),
  allowed: `a whole number from ${min} to ${max}`,
});
const oneOf = <const T extends readonly [string, ...string[]]>(choices: T) => ({ value: z.enum(choices), allowed: `one of ${choices.join(', ')}` });
const text = (what: string) => ({ value: z.string().min(1).max(MAX_TEXT_CHARS), allowed: `${what} of 1 to ${MAX_TEXT_CHARS} characters` });

/** An http(s) URL such as http://127.0.0.1:11434. */
const httpUrl = {
  value: z
    .string()
    .min(1)
    .max(MAX_TEXT_CHARS)
    .refine((raw) => {
      try {
        return ['http:', 'https:'].includes(new URL(raw).protocol);
      } catch {
        return false;
      }
    }),
  allowed: 'an http(s) URL such as http://127.0.0.1:11434',
};

export function defaultDataDir(): string {
  const home = os.homedir();
  const appName = 'local-voice-assistant';
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', appName);
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), appName);
  return path.join(process.env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), appName);
}

/** More chat threads than 4 per core only slow the machine down (and a huge number can exhaust it). */
export const MAX_LLM_THREADS = Math.min(256, 4 * os.availableParallelism());

export const SETTINGS = {
  /** Resolved once, here: a relative folder is relative to the working directory, and logged as the absolute path. */
  dataDir: setting({
    env: 'ASSISTANT_DATA_DIR',
    flag: 'data-dir',
    value: text('').value.transform((dir) => path.resolve(dir)),
    allowed: text('a folder path').allowed,
    default: defaultDataDir,
  }),
  maxQuestionChars: setting({ env: 'ASSISTANT_MAX_QUESTION_CHARS', ...wholeNumber(1, 1_000_000), default: () => DEFAULT_MAX_QUESTION_CHARS }),
  maxAnswerTokens: setting({ env: 'ASSISTANT_MAX_ANSWER_TOKENS', flag: 'max-tokens', ...wholeNumber(1, 131_072), default: () => 512 }),
  provider: setting({ env: 'ASSISTANT_LLM_PROVIDER', flag: 'provider', ...oneOf(LLM_PROVIDERS), default: () => 'auto' as const }),
  /** A GGUF file; unset: the manifest's default model. */
  model: setting({ env: 'ASSISTANT_LLM_MODEL', flag: 'model', ...text('a .gguf file path') }),
  threads: setting({
    env: 'ASSISTANT_LLM_THREADS',
    flag: 'threads',
    ...wholeNumber(1, MAX_LLM_THREADS),
    default: () => Math.max(1, Math.min(4, os.availableParallelism() - 1)),
  }),
  contextSize: setting({ env: 'ASSISTANT_LLM_CONTEXT', ...wholeNumber(1, 1_048_576), default: () => 4096 }),
  ollamaHost: setting({ env: 'OLLAMA_HOST', ...httpUrl, default: () => 'http://127.0.0.1:11434' }),
  ollamaModel: setting({ env: 'ASSISTANT_OLLAMA_MODEL', ...text('an Ollama model name'), default: () => 'qwen2.5:1.5b-instruct' }),
  ollamaKeepAlive: setting({ env: 'ASSISTANT_OLLAMA_KEEP_ALIVE', ...text('a duration such as 30m'), default: () => '30m' }),
  /** An OpenAI-compatible server of the user's (LM Studio, llama-server, LocalAI, vLLM): used with provider openai. */
  openaiBaseUrl: setting({ env: 'ASSISTANT_OPENAI_BASE_URL', ...httpUrl, default: () => 'http://127.0.0.1:8080/v1' }),
  openaiModel: setting({ env: 'ASSISTANT_OPENAI_MODEL', ...text('a model name the server lists at /v1/models') }),
  voice: setting({
    env: 'ASSISTANT_VOICE',
    value: z.enum(['on', 'off']).transform((choice) => choice === 'on'),
    allowed: 'one of on, off',
    default: () => true,
  }),
  stt: setting({ env: 'ASSISTANT_STT', flag: 'stt', ...oneOf(STT_ENGINES), default: () => 'auto' as const }),
  /** A Whisper model id or ggml file; unset: the manifest's default Whisper model. */
  whisperModel: setting({ env: 'ASSISTANT_WHISPER_MODEL', ...text('a Whisper model id or .bin file path') }),
  sttThreads: setting({ env: 'ASSISTANT_STT_THREADS', ...wholeNumber(1, 256) }),
  /** A JSON file of models (the manifest's schema) that adds to the built-in manifest or replaces its entries by id. */
  modelsManifest: setting({ env: 'ASSISTANT_MODELS_MANIFEST', ...text('a model manifest .json file path') }),
  logLevel: setting({ env: 'ASSISTANT_LOG_LEVEL', ...oneOf(LOG_LEVELS), default: () => 'info' as const }),
  /** The Electron app's system-wide push-to-talk hotkey (an Electron accelerator). */
  pttHotkey: setting({ env: 'ASSISTANT_PTT_HOTKEY', ...text('an Electron accelerator such as CommandOrControl+Shift+Space'), default: () => 'CommandOrControl+Shift+Space' }),
  /** Answers from the user's documents (ingestion, retrieval in every turn). */
  documents: setting({
    env: 'ASSISTANT_DOCUMENTS',
    value: z.enum(['on', 'off']).transform((choice) => choice === 'on'),
    allowed: 'one of on, off',
    default: () => true,
  }),
  /** The guardrails (input, passage and output checks); each guard is set up in the app's settings. */
  guards: setting({
    env: 'ASSISTANT_GUARDS',
    value: z.enum(['on', 'off']).transform((choice) => choice === 'on'),
    allowed: 'one of on, off',
    default: () => true,
  }),
  /** A Chroma server of the user's own instead of the local one the app starts. */
  chromaUrl: setting({
    env: 'CHROMA_URL',
    // Chroma's client takes a host, a port and TLS: a path or credentials in the URL would be silently dropped.
    value: httpUrl.value.refine((raw) => {
      const url = new URL(raw);
      return url.pathname === '/' && !url.search && !url.username && !url.password;
    }),
    allowed: 'an http(s) URL such as http://127.0.0.1:8000, without a path or user:password (put a token in CHROMA_TOKEN)',
  }),
  chromaToken: setting({ env: 'CHROMA_TOKEN', ...text('a token') }),
  /** The document embedder: use-lite (built in), an ONNX model id from the manifest, or a folder of ONNX files. */
  embedder: setting({ env: 'ASSISTANT_EMBEDDER', ...text('use-lite, an embedding model id or an ONNX model folder') }),
  /** better-sqlite3-multiple-ciphers built for Electron's ABI (set by scripts/start.js for the Electron app only). */
  sqliteNativeBinding: setting({ env: 'ASSISTANT_SQLITE_ELECTRON_BINDING', ...text('a .node file path') }),
  /**
   * Encrypt the databases (conversations, cache, settings, documents) with SQLCipher. No default here: the Electron app
   * turns it on, the CLI and the headless host leave it off unless this says on. The key: ASSISTANT_DB_KEY, the app's
   * keychain-sealed key, or a 0600 key file in the data dir (made when needed).
   */
  encrypt: setting({
    env: 'ASSISTANT_ENCRYPT',
    flag: 'encrypt',
    value: z.enum(['on', 'off']).transform((choice) => choice === 'on'),
    allowed: 'one of on, off',
  }),
};

export type SettingName = keyof typeof SETTINGS;
type Spec<K extends SettingName> = (typeof SETTINGS)[K];
export type SettingValue<K extends SettingName> = z.output<Spec<K>['value']>;
type WithDefault = { [K in SettingName]: Spec<K> extends { default: () => unknown } ? K : never }[SettingName];
type FlagOf<K extends SettingName> = Spec<K> extends { flag: infer F extends string } ? F : never;
/** The settings that have a command-line flag. */
export type FlagSettingName = { [K in SettingName]: FlagOf<K> extends never ? never : K }[SettingName];

/** Values given by the user; a setting nobody gave is absent. */
export type SettingValues = { [K in SettingName]?: SettingValue<K> };
/** Values with the defaults filled in. */
export type ResolvedSettings = SettingValues & { [K in WithDefault]: SettingValue<K> };

/** A bad env var or flag value. The message names it and says what is allowed; the CLI exits 2 on it. */
export class InvalidSettingError extends AgentError {
  constructor(message: string) {
    super('INVALID_SETTING', message);
    this.name = 'InvalidSettingError';
  }
}

function parseSetting(name: SettingName, raw: string, source: string): unknown {
  const spec: SettingSpec = SETTINGS[name];
  const parsed = spec.value.safeParse(raw);
  if (parsed.success) return parsed.data;
  const shown = raw.length > 40 ? `${JSON.stringify(raw.slice(0, 40)).slice(0, -1)}…" (${raw.length} characters)` : JSON.stringify(raw);
  throw new InvalidSettingError(`${source} must be ${spec.allowed}; got ${shown}.`);
}

const settingNames = Object.keys(SETTINGS) as SettingName[];

/** The settings given as environment variables. An empty variable counts as unset. Throws InvalidSettingError. */
export function readEnvSettings(env: NodeJS.ProcessEnv): SettingValues {
  const values: Record<string, unknown> = {};
  for (const name of settingNames) {
    const raw = env[SETTINGS[name].env];
    if (raw !== undefined && raw !== '') values[name] = parseSetting(name, raw, SETTINGS[name].env);
  }
  return values as SettingValues;
}

/**
 * The environment's settings over `saved` (the settings the app keeps in the data dir), with defaults for the ones
 * neither sets: env > saved > default (flags, given as config overrides, beat all three). Throws InvalidSettingError.
 */
export function resolveEnvSettings(env: NodeJS.ProcessEnv, saved: SettingValues = {}): ResolvedSettings {
  const values: Record<string, unknown> = { ...stripUndefinedValues(saved), ...readEnvSettings(env) };
  for (const name of settingNames) {
    const spec: SettingSpec = SETTINGS[name];
    if (values[name] === undefined && spec.default) values[name] = spec.default();
  }
  return values as ResolvedSettings;
}

/**
 * The settings given as flags, from `parseArgs` values (flags not in `names` are ignored). A flag given with an empty
 * value is an error, unlike an empty env var: the user typed it. Throws InvalidSettingError.
 */
export function readFlagSettings(values: Readonly<Record<string, unknown>>, names: readonly FlagSettingName[]): SettingValues {
  const result: Record<string, unknown> = {};
  for (const name of names) {
    const flag = SETTINGS[name].flag;
    const raw = values[flag];
    if (typeof raw === 'string') result[name] = parseSetting(name, raw, `--${flag}`);
  }
  return result as SettingValues;
}

/** `parseArgs` options for these settings' flags (all take a string value). */
export function settingFlagOptions<const N extends readonly FlagSettingName[]>(names: N): { [K in N[number] as FlagOf<K>]: { type: 'string' } } {
  return Object.fromEntries(names.map((name) => [SETTINGS[name].flag, { type: 'string' }])) as { [K in N[number] as FlagOf<K>]: { type: 'string' } };
}

/** Where each given setting goes in the agent's config (as overrides over the env and the defaults). */
export function settingsToOverrides(values: SettingValues): AgentConfigOverrides {
  const defined = <T extends object>(object: T): Partial<T> =>
    Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as Partial<T>;
  return defined({
    dataDir: values.dataDir,
    maxQuestionChars: values.maxQuestionChars,
    maxAnswerTokens: values.maxAnswerTokens,
    logLevel: values.logLevel,
    sqliteNativeBinding: values.sqliteNativeBinding,
    encryptDatabase: values.encrypt,
    llm: defined({
      provider: values.provider,
      modelPath: values.model,
      threads: values.threads,
      contextSize: values.contextSize,
      ollamaHost: values.ollamaHost,
      ollamaModel: values.ollamaModel,
      ollamaKeepAlive: values.ollamaKeepAlive,
    }),
    voice: defined({ enabled: values.voice, stt: values.stt, whisperModel: values.whisperModel, sttThreads: values.sttThreads }),
    guards: defined({ enabled: values.guards }),
    documents: defined({ enabled: values.documents, chromaUrl: values.chromaUrl, chromaToken: values.chromaToken, embedder: values.embedder }),
  });
}

function stripUndefinedValues(values: SettingValues): SettingValues {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as SettingValues;
}
