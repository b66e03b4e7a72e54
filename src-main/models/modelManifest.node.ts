import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseModelManifest, type ModelManifest } from './modelManifest.js';
import { projectModelsDir } from './projectPaths.node.js';

/** `<project>/models/manifest.json`, the committed list of known models. */
export function modelManifestPath(): string {
  return path.join(projectModelsDir(), 'manifest.json');
}

/** Reads and validates the manifest; throws naming the file and every problem if it is invalid. */
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
