import { z } from 'zod';
import { VoiceSettings } from './voiceContract.js';
import { GuardSettings } from './guardsContract.js';

/** What a model is used for (mirrors the manifest's roles); `embedding`: the documents' embedder. */
export const CatalogModelRole = z.enum(['llm', 'stt-whisper', 'vad', 'embedding']);
export type CatalogModelRole = z.infer<typeof CatalogModelRole>;

/**
 * A model as the models panel shows it. `missing`: known but not on disk; `downloading`: a pull is running;
 * `ready`: on disk and verified; `active`: the one answering now (chat), listening (Whisper) or embedding the
 * documents (embedding).
 */
export const CatalogModelState = z.enum(['missing', 'downloading', 'ready', 'active']);
export type CatalogModelState = z.infer<typeof CatalogModelState>;

export const CatalogModel = z.object({
  id: z.string().min(1).max(200),
  role: CatalogModelRole,
  /**
   * `manifest`: built in; `user-manifest`: ASSISTANT_MODELS_MANIFEST; `ollama`: installed in Ollama; `file`: a path the
   * user chose; `built-in`: part of the app, nothing to download or delete (the USE-lite embedder).
   */
  source: z.enum(['manifest', 'user-manifest', 'ollama', 'file', 'built-in']),
  description: z.string(),
  license: z.string().nullable(),
  sizeBytes: z.number().int().nonnegative().nullable(),
  state: CatalogModelState,
  /** Bytes on disk so far while downloading (resumes from there). */
  receivedBytes: z.number().int().nonnegative().optional(),
  /** Where the file (an embedding model: the folder) is or will be, for "copy it here" when offline. */
  path: z.string().optional(),
  /** Chosen in the settings, and in use from the next start (the document embedder is loaded at start). */
  nextStart: z.literal(true).optional(),
  /** The manifest's default for its role. */
  isDefault: z.boolean(),
  testOnly: z.boolean(),
});
export type CatalogModel = z.infer<typeof CatalogModel>;

export const ModelCatalog = z.object({
  models: z.array(CatalogModel),
  ollama: z.object({ reachable: z.boolean(), host: z.string() }),
  /** The folder downloads go to. */
  modelsDir: z.string(),
});
export type ModelCatalog = z.infer<typeof ModelCatalog>;

/** Progress of a pull: throttled to a few per second, and always a last one with the final state. */
export const ModelProgressEvent = z.object({
  type: z.literal('model-progress'),
  id: z.string(),
  receivedBytes: z.number().int().nonnegative(),
  totalBytes: z.number().int().nonnegative().nullable(),
  bytesPerSecond: z.number().nonnegative(),
  state: z.enum(['downloading', 'verifying', 'done', 'failed', 'cancelled']),
  /** When failed: one short sentence saying what to do (offline: which file to copy where). */
  message: z.string().optional(),
});
export type ModelProgressEvent = z.infer<typeof ModelProgressEvent>;

/** Settings kept in the data dir. Flags and env vars still win for the launch that sets them. */
export const SavedSettings = z.object({
  llmProvider: z.enum(['auto', 'embedded', 'ollama', 'openai']).optional(),
  /** A manifest model id or a path to a .gguf file. */
  llmModel: z.string().min(1).max(4096).optional(),
  ollamaModel: z.string().min(1).max(200).optional(),
  llmThreads: z.number().int().min(1).max(256).optional(),
  stt: z.enum(['auto', 'whisper', 'sphinx']).optional(),
  /** A manifest model id or a path to a ggml .bin file. */
  whisperModel: z.string().min(1).max(4096).optional(),
  /** The document embedder from the next start: use-lite, an embedding model id, or an ONNX model folder. */
  embedder: z.string().min(1).max(4096).optional(),
  voice: VoiceSettings.partial().optional(),
  /** Guardrails: each on or off, with its action (block, redact, warn) and whether it fails open. */
  guards: GuardSettings.optional(),
  /** The model tier from the next start: fast, balanced, quality or auto (a bad name warns and means balanced). */
  tier: z.string().min(1).max(40).optional(),
  /** Each tier's model: a .gguf file, a manifest id, ollama:<model> or openai:<model>; unset: the chat model. */
  tiers: z
    .object({ fast: z.string().min(1).max(4096).optional(), balanced: z.string().min(1).max(4096).optional(), quality: z.string().min(1).max(4096).optional() })
    .optional(),
});
export type SavedSettings = z.infer<typeof SavedSettings>;

/** The settings in effect, and where each came from (a flag or env var the app cannot change for this launch). */
export const SettingsView = z.object({
  saved: SavedSettings,
  effective: z.object({
    llmProvider: z.enum(['auto', 'embedded', 'ollama', 'openai']),
    llmModel: z.string().nullable(),
    ollamaModel: z.string(),
    llmThreads: z.number().int(),
    stt: z.enum(['auto', 'whisper', 'sphinx']),
    whisperModel: z.string().nullable(),
  }),
  /** Settings fixed for this launch by a flag or env var: name → "ASSISTANT_LLM_THREADS" or "--threads". */
  overriddenBy: z.record(z.string(), z.string()),
  /** Why the saved settings file was ignored this launch (it is damaged); the next save replaces it. */
  problem: z.string().optional(),
});
export type SettingsView = z.infer<typeof SettingsView>;

const ModelId = z.string().min(1).max(200);

export const modelsCommandSchemas = {
  'models:list': { args: z.object({}).optional(), result: ModelCatalog },
  /** Starts (or resumes) a download; progress arrives as model-progress events. `ollama`: pull through Ollama. */
  'models:pull': {
    args: z.object({ id: ModelId, source: z.enum(['manifest', 'ollama']).optional() }),
    result: z.object({ started: z.boolean() }),
  },
  'models:cancel': { args: z.object({ id: ModelId }), result: z.object({ cancelled: z.boolean() }) },
  /** Deletes a downloaded model file (never the active one). */
  'models:delete': { args: z.object({ id: ModelId }), result: z.object({ deleted: z.boolean() }) },
  /**
   * Makes a model the active one for its role, loading and warming it now, without a restart; saved in the settings.
   * An embedding model is saved as the document embedder for the next start; `message` then says so, to be shown.
   */
  'models:use': {
    args: z.union([z.object({ id: ModelId }), z.object({ path: z.string().min(1).max(4096) })]),
    result: z.object({ role: CatalogModelRole, model: z.string(), message: z.string().optional() }),
  },
  'settings:get': { args: z.object({}).optional(), result: SettingsView },
  'settings:set': { args: SavedSettings, result: SettingsView },
} as const;
