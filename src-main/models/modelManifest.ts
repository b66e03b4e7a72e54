import { z } from 'zod';

/** What a model is used for; each role has its own env override and at most one user default. */
export const ModelRole = z.enum(['llm', 'stt-whisper', 'vad', 'embedding']);
export type ModelRole = z.infer<typeof ModelRole>;

/** The roles whose model is one file; an `embedding` model is a folder of files (transformers.js layout). */
export const FileModelRole = z.enum(['llm', 'stt-whisper', 'vad']);
export type FileModelRole = z.infer<typeof FileModelRole>;

const hexDigest = (length: number) =>
  z.string().regex(new RegExp(`^[0-9a-f]{${length}}$`), `must be ${length} lowercase hex characters`);

const isRelativeInside = (file: string) =>
  !file.startsWith('/') && !file.includes('\\') && file.split('/').every((part) => part !== '' && part !== '..' && part !== '.');

/** A path inside the models dir: relative, forward slashes, never climbing out of it. */
const RelativeModelFile = z
  .string()
  .min(1)
  .refine(isRelativeInside, 'must be a relative path inside the models dir (no leading "/", no "." or ".." parts)');

const ModelId = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be lowercase letters, digits, ".", "_" or "-"');
const ModelUrl = z.url({ protocol: /^https?$/ });
const SizeBytes = z.number().int().positive();

const entryCommon = {
  id: ModelId,
  license: z.string().min(1),
  description: z.string().min(1),
  default: z.literal(true).optional(),
  testOnly: z.literal(true).optional(),
};

/** A model that is one file, e.g. `llm/qwen.gguf`. */
export const FileModelEntry = z.strictObject({
  ...entryCommon,
  role: FileModelRole,
  file: RelativeModelFile,
  url: ModelUrl,
  sizeBytes: SizeBytes,
  /** null when no trustworthy checksum is published; the download is then reported as unverified. */
  sha256: hexDigest(64).nullable(),
  sha1: hexDigest(40).optional(),
});
export type FileModelEntry = z.infer<typeof FileModelEntry>;

/** One file of a folder model: where it goes inside the folder, where it comes from, and what it must be. */
export const ModelFolderFile = z.strictObject({
  /** Relative to the model's folder, e.g. `onnx/model_quantized.onnx`. */
  path: z
    .string()
    .min(1)
    .refine(
      (file) => isRelativeInside(file) && file.split('/').every((part) => !part.startsWith('.')),
      'must be a relative path inside the model folder (no leading "/", no hidden, "." or ".." parts)',
    ),
  url: ModelUrl,
  sizeBytes: SizeBytes,
  /** Required: a folder is only installed when every one of its files is verified. */
  sha256: hexDigest(64),
});
export type ModelFolderFile = z.infer<typeof ModelFolderFile>;

/**
 * A model that is a folder of files, e.g. an ONNX embedding model in transformers.js layout in `embeddings/<id>/`.
 * `sizeBytes` is the sum of the files' sizes: filled in when left out, checked when given.
 */
export const FolderModelEntry = z
  .strictObject({
    ...entryCommon,
    role: z.literal('embedding'),
    folder: RelativeModelFile,
    files: z.array(ModelFolderFile).min(1),
    sizeBytes: SizeBytes.optional(),
  })
  .superRefine((entry, ctx) => {
    const seen = new Set<string>();
    for (const [index, file] of entry.files.entries()) {
      const clash = [...seen].find((other) => other === file.path || other.startsWith(`${file.path}/`) || file.path.startsWith(`${other}/`));
      if (clash !== undefined) ctx.addIssue({ code: 'custom', path: ['files', index, 'path'], message: `"${file.path}" clashes with "${clash}"` });
      seen.add(file.path);
    }
    const total = entry.files.reduce((sum, file) => sum + file.sizeBytes, 0);
    if (entry.sizeBytes !== undefined && entry.sizeBytes !== total) {
      ctx.addIssue({ code: 'custom', path: ['sizeBytes'], message: `is ${entry.sizeBytes} but the files add up to ${total}` });
    }
  })
  .transform((entry) => ({ ...entry, sizeBytes: entry.files.reduce((sum, file) => sum + file.sizeBytes, 0) }));
export type FolderModelEntry = z.infer<typeof FolderModelEntry>;

/** One model of the manifest: a single file (`file`, `url`, `sha256`) or, for role `embedding`, a folder of `files`. */
export const ModelManifestEntry = z.discriminatedUnion('role', [FileModelEntry, FolderModelEntry]);
export type ModelManifestEntry = z.infer<typeof ModelManifestEntry>;

export function isFolderEntry(entry: ModelManifestEntry): entry is FolderModelEntry {
  return entry.role === 'embedding';
}

/** The entry's path inside the models dir: its file, or its folder. */
export function entryLocation(entry: ModelManifestEntry): string {
  return isFolderEntry(entry) ? entry.folder : entry.file;
}

/** Where each role's files live in the models dir, and how their names end: an entry can name nothing else there. */
export const ROLE_FILE_RULES: Readonly<Record<FileModelRole, { folder: string; extension: string }>> = {
  llm: { folder: 'llm/', extension: '.gguf' },
  'stt-whisper': { folder: 'whisper/', extension: '.bin' },
  vad: { folder: 'vad/', extension: '.bin' },
};

/** Where folder models of a role live: one folder each, directly inside this one. */
export const ROLE_FOLDER_RULES: Readonly<Record<'embedding', string>> = {
  embedding: 'embeddings/',
};

/** Why `file` is not a model file of `role` (outside its folder, wrong extension, hidden), or undefined when it is. */
export function modelFileProblem(role: FileModelRole, file: string): string | undefined {
  const { folder, extension } = ROLE_FILE_RULES[role];
  const name = file.split('/').at(-1) ?? '';
  if (!file.startsWith(folder) || !file.toLowerCase().endsWith(extension) || name.startsWith('.') || name.length <= extension.length) {
    return `file "${file}" must be a ${extension} file inside ${folder} (role ${role})`;
  }
  return undefined;
}

/**
 * Why `folder` is not a model folder of `role` (not one folder directly inside the role's folder, hidden, or named like
 * the download's `.partial`/`.rejected` leftovers), or undefined when it is.
 */
export function modelFolderProblem(role: 'embedding', folder: string): string | undefined {
  const parent = ROLE_FOLDER_RULES[role];
  const name = folder.slice(parent.length);
  if (!folder.startsWith(parent) || name === '' || name.includes('/') || name.startsWith('.') || /\.(partial|rejected|lock)$/i.test(name)) {
    return `folder "${folder}" must be one folder directly inside ${parent} (role ${role})`;
  }
  return undefined;
}

export const ModelManifest = z
  .array(ModelManifestEntry)
  .superRefine((entries, ctx) => {
    const seen = new Set<string>();
    for (const [index, entry] of entries.entries()) {
      const problem = isFolderEntry(entry) ? modelFolderProblem(entry.role, entry.folder) : modelFileProblem(entry.role, entry.file);
      const field = isFolderEntry(entry) ? 'folder' : 'file';
      if (problem) ctx.addIssue({ code: 'custom', path: [index, field], message: `model "${entry.id}": ${problem}` });
      if (seen.has(entry.id)) ctx.addIssue({ code: 'custom', message: `duplicate model id "${entry.id}"` });
      seen.add(entry.id);
      if (entry.default && entry.testOnly) {
        ctx.addIssue({ code: 'custom', message: `model "${entry.id}" is test-only and cannot be a user default` });
      }
    }
    for (const role of ModelRole.options) {
      const defaults = entries.filter((entry) => entry.role === role && entry.default);
      if (defaults.length > 1) {
        ctx.addIssue({ code: 'custom', message: `role "${role}" has ${defaults.length} defaults; at most one is allowed` });
      }
    }
  });
export type ModelManifest = z.infer<typeof ModelManifest>;

/** Parses manifest JSON, naming the source and every problem when it is invalid. */
export function parseModelManifest(raw: unknown, source: string): ModelManifest {
  const result = ModelManifest.safeParse(raw);
  if (!result.success) {
    throw new Error(`The model manifest ${source} is invalid:\n${z.prettifyError(result.error)}`);
  }
  return result.data;
}

export function findManifestEntry(manifest: ModelManifest, id: string): ModelManifestEntry | undefined {
  return manifest.find((entry) => entry.id === id);
}

export function defaultManifestEntry(manifest: ModelManifest, role: ModelRole): ModelManifestEntry | undefined {
  return manifest.find((entry) => entry.role === role && entry.default);
}

/** A manifest's problems on one line: `[0].sha256: must be 64 lowercase hex characters; [1]: duplicate model id "x"`. */
export function manifestProblems(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('').replace(/^\./, '');
      return where === '' ? issue.message : `${where}: ${issue.message}`;
    })
    .join('; ');
}

/**
 * The built-in manifest with a user manifest (ASSISTANT_MODELS_MANIFEST) laid over it: a user entry replaces the
 * built-in entry of the same id, in its place, and new ids are added at the end. A user entry marked `default` becomes
 * its role's only default; a user entry that replaces the built-in default stays the default unless the user manifest
 * names another. `user` is raw JSON, validated with the same schema; a bad one throws one line naming `source`.
 */
export function mergeModelManifests(builtIn: ModelManifest, user: unknown, source: string): ModelManifest {
  const parsedUser = ModelManifest.safeParse(user);
  if (!parsedUser.success) throw new Error(`The model manifest ${source} is invalid: ${manifestProblems(parsedUser.error)}.`);
  const userById = new Map(parsedUser.data.map((entry) => [entry.id, entry]));
  const userDefaultRoles = new Set(parsedUser.data.filter((entry) => entry.default).map((entry) => entry.role));
  const merged = builtIn.map((entry): ModelManifestEntry => {
    const replacement = userById.get(entry.id);
    if (replacement) {
      const keepsDefault = entry.default && !userDefaultRoles.has(replacement.role) && replacement.role === entry.role;
      return keepsDefault ? { ...replacement, default: true } : replacement;
    }
    if (entry.default && userDefaultRoles.has(entry.role)) {
      const { default: _replaced, ...rest } = entry;
      return rest;
    }
    return entry;
  });
  const builtInIds = new Set(builtIn.map((entry) => entry.id));
  merged.push(...parsedUser.data.filter((entry) => !builtInIds.has(entry.id)));
  const result = ModelManifest.safeParse(merged);
  if (!result.success) throw new Error(`The model manifest ${source} does not fit the built-in one: ${manifestProblems(result.error)}.`);
  return result.data;
}
