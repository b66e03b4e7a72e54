/**
 * Model specs: how a user names a chat model in a tier setting, `--members`/`--chairman` or `ASSISTANT_TIER_*`.
 *
 *   fast | balanced | quality   a tier (resolved through the tier settings)
 *   ./models/phi.gguf           an embedded GGUF file (ends with .gguf, or is an existing file)
 *   qwen2.5-1.5b-instruct       a model id from the model manifest (embedded)
 *   ollama:qwen2.5:1.5b         a model Ollama has (everything after the first colon, colons included)
 *   openai:local-model          a model on the OpenAI-compatible server of the settings
 *
 * Pure: whether a string names an existing file is asked of the caller's `isFile` (the agent layer does no I/O here).
 */

export const TIERS = ['fast', 'balanced', 'quality'] as const;
export type Tier = (typeof TIERS)[number];

/** Longest spec accepted (Linux's PATH_MAX, as for the other path and model-name settings). */
export const MAX_MODEL_SPEC_CHARS = 4096;

export const MODEL_SPEC_PREFIXES = ['ollama', 'openai'] as const;

export type ModelSpec =
  | { kind: 'tier'; tier: Tier }
  /** A GGUF file for the embedded provider, as written (relative paths are resolved by whoever loads it). */
  | { kind: 'gguf'; path: string }
  /**
   * A model id from the manifest, run by the embedded provider. Not looked up here: the model resolver finds its file
   * (or says how to download it) when the model is loaded, as it does for ASSISTANT_LLM_MODEL.
   */
  | { kind: 'embedded'; model: string }
  | { kind: 'ollama'; model: string }
  | { kind: 'openai'; model: string };

/** A spec that names a model itself rather than a tier: what a tier setting must be. */
export type ConcreteModelSpec = Exclude<ModelSpec, { kind: 'tier' }>;

export type ModelSpecResult = { ok: true; spec: ModelSpec } | { ok: false; error: string };

export interface ParseModelSpecOptions {
  /** Whether a path names an existing regular file; lets a GGUF without the .gguf extension be given. Default: never. */
  isFile?: (path: string) => boolean;
}

/** Same rule as the manifest's ids. */
const MANIFEST_ID = /^[a-z0-9][a-z0-9._-]*$/;
const GGUF_EXTENSION = /\.gguf$/i;
/** `name:rest` where name could be meant as a prefix; one letter is a Windows drive (C:\models\x.gguf), not a prefix. */
const PREFIXED = /^([A-Za-z][A-Za-z0-9+._-]+):(.*)$/s;
const URL_LIKE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const EXPECTED = `a tier (${TIERS.join(', ')}), a .gguf file path, a model id from the manifest, ollama:<model> or openai:<model>`;

/** Quotes user input for an error message, shortened when long. */
function shown(raw: string): string {
  return raw.length > 60 ? `${JSON.stringify(raw.slice(0, 60)).slice(0, -1)}…" (${raw.length} characters)` : JSON.stringify(raw);
}

export function isTier(value: string): value is Tier {
  return (TIERS as readonly string[]).includes(value);
}

/**
 * Parses a model spec. Surrounding whitespace is ignored; prefixes and tier names are case-insensitive (`Ollama:x` is
 * `ollama:x`). The order: length and control characters, `ollama:`/`openai:`, a tier name, a URL (refused), a .gguf
 * path, an existing file (so a file that happens to share a manifest id's name is that file), another `name:` prefix
 * (refused), a manifest id.
 */
export function parseModelSpec(raw: string, options: ParseModelSpecOptions = {}): ModelSpecResult {
  const fail = (error: string): ModelSpecResult => ({ ok: false, error });
  if (raw.length > MAX_MODEL_SPEC_CHARS) return fail(`A model spec may be at most ${MAX_MODEL_SPEC_CHARS} characters; got ${raw.length}.`);
  // Surrounding whitespace (a pasted newline included) is not part of the spec.
  const text = raw.trim();
  if (text === '') return fail(`The model spec is empty; give ${EXPECTED}.`);
  const control = CONTROL.exec(text);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return fail(`The model spec ${shown(text)} contains a control character (U+${code} at position ${control.index + 1}).`);
  }

  const prefixed = PREFIXED.exec(text);
  const prefix = prefixed?.[1]!.toLowerCase();
  if (prefixed && (prefix === 'ollama' || prefix === 'openai')) {
    const model = prefixed[2]!.trim();
    if (model === '') {
      const example = prefix === 'ollama' ? 'ollama:qwen2.5:1.5b-instruct' : 'openai:a-model-the-server-lists';
      return fail(`"${prefix}:" needs a model name after the colon, e.g. ${example}.`);
    }
    return { ok: true, spec: { kind: prefix, model } };
  }

  const lower = text.toLowerCase();
  if (isTier(lower)) return { ok: true, spec: { kind: 'tier', tier: lower } };

  if (URL_LIKE.test(text)) {
    return fail(`The model spec ${shown(text)} is a URL; give a downloaded .gguf file's path, or ollama:<model> / openai:<model> for a model on a server.`);
  }
  if (GGUF_EXTENSION.test(text) || options.isFile?.(text)) return { ok: true, spec: { kind: 'gguf', path: text } };
  if (prefixed) {
    return fail(`Unknown model spec prefix "${prefixed[1]}:" in ${shown(text)}; the prefixes are ${MODEL_SPEC_PREFIXES.map((p) => `${p}:`).join(' and ')}. Expected ${EXPECTED}.`);
  }
  if (MANIFEST_ID.test(text)) return { ok: true, spec: { kind: 'embedded', model: text } };
  if (/[/\\]/.test(text)) return fail(`The model file ${shown(text)} does not exist (a GGUF file path ends with .gguf).`);
  return fail(`${shown(text)} is not a model spec (nor an existing file); expected ${EXPECTED}.`);
}

/** Like `parseModelSpec`, throwing an Error with the message. */
export function parseModelSpecOrThrow(raw: string, options: ParseModelSpecOptions = {}): ModelSpec {
  const result = parseModelSpec(raw, options);
  if (!result.ok) throw new Error(result.error);
  return result.spec;
}

/** The spec as a user writes it; `parseModelSpec` reads it back as the same spec (given the same `isFile`). */
export function formatModelSpec(spec: ModelSpec): string {
  switch (spec.kind) {
    case 'tier':
      return spec.tier;
    case 'gguf':
      return spec.path;
    case 'embedded':
      return spec.model;
    case 'ollama':
    case 'openai':
      return `${spec.kind}:${spec.model}`;
  }
}

/** Which provider runs a spec's model: a GGUF file or manifest model runs in the app. Undefined for a tier. */
export function providerKindOf(spec: ModelSpec): 'embedded' | 'ollama' | 'openai' | undefined {
  switch (spec.kind) {
    case 'tier':
      return undefined;
    case 'gguf':
    case 'embedded':
      return 'embedded';
    case 'ollama':
    case 'openai':
      return spec.kind;
  }
}

export function sameModelSpec(a: ModelSpec, b: ModelSpec): boolean {
  return a.kind === b.kind && formatModelSpec(a) === formatModelSpec(b);
}
