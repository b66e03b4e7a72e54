import { z } from 'zod';

/** What a model is used for; each role has its own env override and at most one user default. */
export const ModelRole = z.enum(['llm', 'stt-whisper', 'vad']);
export type ModelRole = z.infer<typeof ModelRole>;

const hexDigest = (length: number) =>
  z.string().regex(new RegExp(`^[0-9a-f]{${length}}$`), `must be ${length} lowercase hex characters`);

/** A path inside the models dir: relative, forward slashes, never climbing out of it. */
const RelativeModelFile = z
  .string()
  .min(1)
  .refine(
    (file) => !file.startsWith('/') && !file.includes('\\') && file.split('/').every((part) => part !== '' && part !== '..' && part !== '.'),
    'must be a relative path inside the models dir (no leading "/", no "." or ".." parts)',
  );

export const ModelManifestEntry = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be lowercase letters, digits, ".", "_" or "-"'),
  role: ModelRole,
  file: RelativeModelFile,
  url: z.url({ protocol: /^https?$/ }),
  sizeBytes: z.number().int().positive(),
  /** null when no trustworthy checksum is published; the download is then reported as unverified. */
  sha256: hexDigest(64).nullable(),
  sha1: hexDigest(40).optional(),
  license: z.string().min(1),
  description: z.string().min(1),
  default: z.literal(true).optional(),
  testOnly: z.literal(true).optional(),
});
export type ModelManifestEntry = z.infer<typeof ModelManifestEntry>;

/** Where each role's files live in the models dir, and how their names end: an entry can name nothing else there. */
export const ROLE_FILE_RULES: Readonly<Record<ModelRole, { folder: string; extension: string }>> = {
  llm: { folder: 'llm/', extension: '.gguf' },
  'stt-whisper': { folder: 'whisper/', extension: '.bin' },
  vad: { folder: 'vad/', extension: '.bin' },
};

/** Why `file` is not a model file of `role` (outside its folder, wrong extension, hidden), or undefined when it is. */
export function modelFileProblem(role: ModelRole, file: string): string | undefined {
  const { folder, extension } = ROLE_FILE_RULES[role];
  const name = file.split('/').at(-1) ?? '';
  if (!file.startsWith(folder) || !file.toLowerCase().endsWith(extension) || name.startsWith('.') || name.length <= extension.length) {
    return `file "${file}" must be a ${extension} file inside ${folder} (role ${role})`;
  }
  return undefined;
}

export const ModelManifest = z
  .array(ModelManifestEntry)
  .superRefine((entries, ctx) => {
    const seen = new Set<string>();
    for (const [index, entry] of entries.entries()) {
      const fileProblem = modelFileProblem(entry.role, entry.file);
      if (fileProblem) ctx.addIssue({ code: 'custom', path: [index, 'file'], message: `model "${entry.id}": ${fileProblem}` });
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
