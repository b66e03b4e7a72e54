import { statSync } from 'node:fs';
import path from 'node:path';
import { AgentError } from '../../src-shared/contract/index.js';
import {
  entryLocation,
  findManifestEntry,
  defaultManifestEntry,
  isFolderEntry,
  type FileModelEntry,
  type FileModelRole,
  type ModelManifest,
  type ModelManifestEntry,
  type ModelRole,
} from './modelManifest.js';
import { knownModelManifest } from './modelManifest.node.js';
import { modelPathProblem } from '../agent/llm/modelFileCheck.node.js';
import { projectModelsDir, projectRoot, sharedModelsDir } from './projectPaths.node.js';

/**
 * Env vars that point one role at a model file, beating every models dir. Embedding models have none here: the
 * embedder is chosen by ASSISTANT_EMBEDDER (use-lite, a known id, or a folder), see documents/embedderChoice.
 */
export const MODEL_ENV_VARS: Record<FileModelRole, string> = {
  llm: 'ASSISTANT_LLM_MODEL',
  'stt-whisper': 'ASSISTANT_WHISPER_MODEL',
  vad: 'ASSISTANT_VAD_MODEL',
};
export const MODELS_DIR_ENV_VAR = 'ASSISTANT_MODELS_DIR';

/** Where a model was found, in resolution order. */
export type ModelSource = 'path' | 'env' | 'models-dir' | 'project' | 'shared';

export interface ModelLocationOptions {
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** From `--models-dir`; takes the place of ASSISTANT_MODELS_DIR. */
  modelsDir?: string;
  /** Defaults to the real project root; tests point it at a temporary tree. */
  projectRoot?: string;
  /** Defaults to `models/manifest.json` with ASSISTANT_MODELS_MANIFEST laid over it. */
  manifest?: ModelManifest;
}

export interface ResolveModelOptions extends ModelLocationOptions {
  /** A model file given on the command line; beats every other place. */
  explicitPath?: string;
}

export interface PlaceLooked {
  source: ModelSource;
  /** What the place is, e.g. `$ASSISTANT_MODELS_DIR` or `project models dir`. */
  label: string;
  /** The file looked for, or null when the place is not configured. */
  path: string | null;
}

export interface ModelFound {
  found: true;
  /** Null when the model was given as a path that is not in the manifest. */
  id: string | null;
  path: string;
  source: ModelSource;
  entry?: ModelManifestEntry;
}

export interface ModelMissing {
  found: false;
  id: string;
  looked: PlaceLooked[];
  /** The one command that fixes it, e.g. `npx assistant models pull whisper-base-en`. */
  fix: string;
  /** A complete, user-facing explanation: what is missing, every place looked, the fix. */
  message: string;
}

export type ModelResolution = ModelFound | ModelMissing;

export function pullCommand(id: string): string {
  return `npx assistant models pull ${id}`;
}

/** The models dir downloads go to: `--models-dir`, else ASSISTANT_MODELS_DIR, else `<project>/models`. */
export function downloadModelsDir(options: ModelLocationOptions = {}): string {
  return configuredModelsDir(options) ?? projectModelsDir(options.projectRoot ?? projectRoot());
}

/** Where `pull` puts a model (its file, or its folder), and where a user copies it by hand when offline. */
export function downloadTargetPath(entry: ModelManifestEntry, options: ModelLocationOptions = {}): string {
  return path.join(downloadModelsDir(options), ...entryLocation(entry).split('/'));
}

/** The paths of a folder model's files inside `folder`, in manifest order. */
export function folderFilePaths(folder: string, entry: { files: readonly { path: string }[] }): string[] {
  return entry.files.map((file) => path.join(folder, ...file.path.split('/')));
}

/**
 * Whether a folder holds every file of a folder model with its manifest size (a download only puts verified files
 * there, and renames the folder into place once all are). Null when the folder is not there at all.
 */
export function folderCompleteness(folder: string, entry: { files: readonly { path: string; sizeBytes: number }[] }): { bytesOnDisk: number; complete: boolean } | null {
  if (!isDirectory(folder)) return null;
  let bytesOnDisk = 0;
  let complete = true;
  for (const [index, file] of folderFilePaths(folder, entry).entries()) {
    const size = fileSizeOf(file);
    bytesOnDisk += size ?? 0;
    if (size !== entry.files[index]?.sizeBytes) complete = false;
  }
  return { bytesOnDisk, complete };
}

/**
 * Finds a model file. `idOrPath` is a manifest id, or a path to a model file.
 * Order: explicit path, the role's env var, `--models-dir`/ASSISTANT_MODELS_DIR, `<project>/models`,
 * `<project>/../shared/models`. A configured explicit path or env var that points nowhere is reported
 * as missing rather than silently passed over, so a typo never loads some other model.
 */
export function resolveModelPath(idOrPath: string, options: ResolveModelOptions = {}): ModelResolution {
  const manifest = options.manifest ?? knownModelManifest(options.env);
  const entry = findManifestEntry(manifest, idOrPath);
  const env = options.env ?? process.env;

  const explicitPath = options.explicitPath ?? (entry === undefined && looksLikePath(idOrPath) ? idOrPath : undefined);
  if (explicitPath !== undefined) {
    const file = path.resolve(explicitPath);
    if (entry !== undefined && isFolderEntry(entry)) {
      if (isDirectory(file)) return { found: true, id: entry.id, path: file, source: 'path', entry };
      return missing(entry.id, [{ source: 'path', label: 'path given', path: file }], entry, options, `The model folder ${file} does not exist.`);
    }
    if (isFile(file)) return { found: true, id: entry?.id ?? null, path: file, source: 'path', ...(entry && { entry }) };
    const problem = notAFile(file, entry?.file ?? file);
    return missing(entry?.id ?? idOrPath, [{ source: 'path', label: 'path given', path: file }], entry, options,
      problem === undefined ? `The model file ${file} does not exist.` : `${problem}.`);
  }

  if (entry === undefined) {
    const known = manifest.map((model) => model.id).join(', ');
    const message = `Unknown model "${idOrPath}". Known models: ${known}. Run "npx assistant models list" to see them, or give a path to a model file.`;
    return { found: false, id: idOrPath, looked: [], fix: 'npx assistant models list', message };
  }

  if (isFolderEntry(entry)) {
    const looked = modelDirCandidates(entry, options);
    const hit = looked.find((place) => place.path !== null && isDirectory(place.path));
    if (hit?.path) return { found: true, id: entry.id, path: hit.path, source: hit.source, entry };
    return missing(entry.id, looked, entry, options, `Model "${entry.id}" (${entry.folder}/) was not found.`);
  }

  const envVar = MODEL_ENV_VARS[entry.role];
  const envPath = nonEmpty(env[envVar]);
  if (envPath !== undefined) {
    const file = path.resolve(envPath);
    if (isFile(file)) return { found: true, id: entry.id, path: file, source: 'env', entry };
    const problem = notAFile(file, entry.file);
    return missing(entry.id, [{ source: 'env', label: `$${envVar}`, path: file }], entry, options,
      problem === undefined
        ? `$${envVar} points to ${file}, which does not exist. Unset it or point it at an existing model file.`
        : `$${envVar} is set, but ${problem}. Unset it or point it at an existing model file.`);
  }

  const looked = modelDirCandidates(entry, options);
  const hit = looked.find((place) => place.path !== null && isFile(place.path));
  if (hit?.path) return { found: true, id: entry.id, path: hit.path, source: hit.source, entry };
  return missing(entry.id, looked, entry, options, `Model "${entry.id}" (${entry.file}) was not found.`);
}

/** The user default for a role (e.g. the chat LLM), resolved like any other id. */
export function resolveDefaultModel(role: ModelRole, options: ResolveModelOptions = {}): ModelResolution {
  const manifest = options.manifest ?? knownModelManifest(options.env);
  const entry = defaultManifestEntry(manifest, role);
  if (entry === undefined) throw new Error(`The model manifest has no default model for role "${role}".`);
  return resolveModelPath(entry.id, { ...options, manifest });
}

/** Like resolveModelPath, but throws AgentError('MODEL_MISSING') carrying the full explanation. */
export function requireModelPath(idOrPath: string, options: ResolveModelOptions = {}): string {
  const resolution = resolveModelPath(idOrPath, options);
  if (!resolution.found) throw new AgentError('MODEL_MISSING', resolution.message);
  return resolution.path;
}

export interface ModelStatus {
  entry: ModelManifestEntry;
  found: boolean;
  /** Where it was found, or where `pull` would put it. */
  path: string;
  source: ModelSource | null;
  /** Bytes on disk (a folder model: its files' sum); null when missing. */
  sizeOnDisk: number | null;
  /**
   * False when the file on disk is not the size the manifest says (an interrupted copy, another version); for a
   * folder model, when any of its files is missing or not its manifest size.
   */
  sizeMatches: boolean | null;
}

export interface RoleOverride {
  role: FileModelRole;
  envVar: string;
  path: string;
  exists: boolean;
}

export interface ModelsDescription {
  models: ModelStatus[];
  /** Role env vars that are set: they replace the manifest file for every model of that role. */
  overrides: RoleOverride[];
  downloadDir: string;
}

/** Every manifest model with where it is (or would go) and its size, for `models list` and `doctor`. */
export function describeModels(options: ModelLocationOptions = {}): ModelsDescription {
  const manifest = options.manifest ?? knownModelManifest(options.env);
  const env = options.env ?? process.env;
  const models = manifest.map((entry): ModelStatus => {
    if (isFolderEntry(entry)) {
      for (const place of modelDirCandidates(entry, options)) {
        const state = place.path === null ? null : folderCompleteness(place.path, entry);
        if (state === null || place.path === null) continue;
        return { entry, found: true, path: place.path, source: place.source, sizeOnDisk: state.bytesOnDisk, sizeMatches: state.complete };
      }
      return { entry, found: false, path: downloadTargetPath(entry, options), source: null, sizeOnDisk: null, sizeMatches: null };
    }
    const hit = modelDirCandidates(entry, options).find((place) => place.path !== null && isFile(place.path));
    if (!hit?.path) {
      return { entry, found: false, path: downloadTargetPath(entry, options), source: null, sizeOnDisk: null, sizeMatches: null };
    }
    const sizeOnDisk = statSync(hit.path).size;
    return { entry, found: true, path: hit.path, source: hit.source, sizeOnDisk, sizeMatches: sizeOnDisk === entry.sizeBytes };
  });
  const overrides = (Object.entries(MODEL_ENV_VARS) as [FileModelRole, string][]).flatMap(([role, envVar]) => {
    const value = nonEmpty(env[envVar]);
    if (value === undefined) return [];
    const file = path.resolve(value);
    return [{ role, envVar, path: file, exists: isFile(file) }];
  });
  return { models, overrides, downloadDir: downloadModelsDir(options) };
}

/**
 * The single-file manifest model that lives at `file`: its place in `--models-dir`/ASSISTANT_MODELS_DIR, the project
 * models dir or the shared one. A file anywhere else (a path of the user's own, a role env var) is not a manifest model,
 * even when its name is the same, so it is never held to a manifest checksum it was not downloaded against.
 */
export function manifestFileEntryAt(file: string, options: ModelLocationOptions = {}): FileModelEntry | undefined {
  const manifest = options.manifest ?? knownModelManifest(options.env);
  const target = path.resolve(file);
  return manifest.find((entry): entry is FileModelEntry =>
    !isFolderEntry(entry) && modelDirCandidates(entry, options).some((place) => place.path !== null && path.resolve(place.path) === target));
}

function modelDirCandidates(entry: ModelManifestEntry, options: ModelLocationOptions): PlaceLooked[] {
  const root = options.projectRoot ?? projectRoot();
  const inDir = (dir: string) => path.join(dir, ...entryLocation(entry).split('/'));
  const configured = configuredModelsDir(options);
  const configuredLabel = options.modelsDir !== undefined ? '--models-dir' : `$${MODELS_DIR_ENV_VAR}`;
  return [
    { source: 'models-dir', label: configuredLabel, path: configured === undefined ? null : inDir(configured) },
    { source: 'project', label: 'project models dir', path: inDir(projectModelsDir(root)) },
    { source: 'shared', label: 'shared models dir', path: inDir(sharedModelsDir(root)) },
  ];
}

function configuredModelsDir(options: ModelLocationOptions): string | undefined {
  const dir = options.modelsDir ?? nonEmpty((options.env ?? process.env)[MODELS_DIR_ENV_VAR]);
  return dir === undefined ? undefined : path.resolve(dir);
}

function missing(
  id: string,
  looked: PlaceLooked[],
  entry: ModelManifestEntry | undefined,
  options: ModelLocationOptions,
  headline: string,
): ModelMissing {
  const places = looked.map((place) => `  - ${place.label}: ${place.path ?? '(not set)'}`).join('\n');
  if (entry === undefined) {
    return { found: false, id, looked, fix: 'npx assistant models list', message: `${headline}\nLooked in:\n${places}` };
  }
  const fix = pullCommand(entry.id);
  const offline = isFolderEntry(entry)
    ? `or put its files (${entry.files.map((file) => file.path).join(', ')}) in ${downloadTargetPath(entry, options)} if you are offline.`
    : `or copy ${entry.file.split('/').pop()} to ${downloadTargetPath(entry, options)} if you are offline.`;
  const message = `${headline}\nLooked in:\n${places}\nFix: run "${fix}" to download it (${formatBytes(entry.sizeBytes)}), ${offline}`;
  return { found: false, id, looked, fix, message };
}

function looksLikePath(value: string): boolean {
  return value.includes('/') || value.includes(path.sep) || /\.(gguf|bin)$/i.test(value);
}

/**
 * Why an existing path is not a model file (a directory, a symlink loop, a device...), naming the path; undefined when
 * the path simply does not exist, which the callers word themselves.
 */
function notAFile(file: string, expectedFile: string): string | undefined {
  const extension = path.extname(expectedFile) || '.gguf';
  const problem = modelPathProblem(file, { extension, needs: `it needs to be a ${extension} model file` });
  return problem === undefined || problem.kind === 'missing' ? undefined : problem.reason;
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function isDirectory(folder: string): boolean {
  try {
    return statSync(folder).isDirectory();
  } catch {
    return false;
  }
}

function fileSizeOf(file: string): number | null {
  try {
    const stat = statSync(file);
    return stat.isFile() ? stat.size : null;
  } catch {
    return null;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** Human-readable size in binary units: 1.1 MiB, 469 MiB, 2.3 GiB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(bytes)} B` : `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}
