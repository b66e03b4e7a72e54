import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidSettingError, SETTINGS } from '../agent/agentSettings.node.js';
import { mergeModelManifests, parseModelManifest, type ModelManifest } from './modelManifest.js';
import { projectModelsDir } from './projectPaths.node.js';

/** Names a JSON file of models (same schema) laid over the built-in manifest: an organisation's mirror, or tests. */
export const USER_MANIFEST_ENV_VAR = SETTINGS.modelsManifest.env;

/** `<project>/models/manifest.json`, the committed list of known models. */
export function modelManifestPath(): string {
  return path.join(projectModelsDir(), 'manifest.json');
}

/** Reads and validates one manifest file; throws naming the file and every problem if it is invalid. */
export function loadModelManifest(manifestPath: string = modelManifestPath()): ModelManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot read the model manifest ${manifestPath}: ${reason}`);
  }
  return parseModelManifest(raw, manifestPath);
}

export interface KnownModels {
  /** The built-in manifest with the user manifest laid over it. */
  manifest: ModelManifest;
  /** Ids the user manifest added or replaced. */
  fromUserManifest: ReadonlySet<string>;
  /** The user manifest's path, when ASSISTANT_MODELS_MANIFEST is set. */
  userManifestPath: string | undefined;
}

/**
 * Every model the app knows: the built-in manifest, plus ASSISTANT_MODELS_MANIFEST when set. A user manifest that
 * cannot be read or is invalid throws InvalidSettingError with one line naming the file and the problem (the CLI
 * exits 2 on it, before anything starts).
 */
export function loadKnownModels(env: NodeJS.ProcessEnv = process.env, builtInPath: string = modelManifestPath()): KnownModels {
  const builtIn = loadModelManifest(builtInPath);
  const configured = env[USER_MANIFEST_ENV_VAR];
  if (configured === undefined || configured.trim() === '') return { manifest: builtIn, fromUserManifest: new Set(), userManifestPath: undefined };
  const userManifestPath = path.resolve(configured);
  const source = `${userManifestPath} (${USER_MANIFEST_ENV_VAR})`;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(userManifestPath, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : error instanceof Error ? error.message : String(error);
    throw new InvalidSettingError(`Cannot read the model manifest ${source}: ${reason}.`);
  }
  let manifest: ModelManifest;
  try {
    manifest = mergeModelManifests(builtIn, raw, source);
  } catch (error) {
    throw new InvalidSettingError((error as Error).message);
  }
  const fromUserManifest = new Set(Array.isArray(raw) ? raw.map((entry: { id?: unknown }) => String(entry.id)) : []);
  return { manifest, fromUserManifest, userManifestPath };
}

/** The manifest every lookup uses by default: built-in plus the user manifest. */
export function knownModelManifest(env: NodeJS.ProcessEnv = process.env): ModelManifest {
  return loadKnownModels(env).manifest;
}
