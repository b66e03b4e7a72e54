import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/**
 * The project's root folder: the nearest folder above this file that holds package.json.
 * Found by walking up rather than by a fixed `../..`, because this file runs both from
 * `src-main/models/` (vitest) and from `build/src-main/models/` (compiled). A package.json inside
 * `build/` (e.g. one that only sets "type") is skipped so it is never taken for the root.
 */
export function projectRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && path.basename(dir) !== 'build') {
      cachedRoot = dir;
      return dir;
    }
    if (path.dirname(dir) === dir) {
      throw new Error(`Cannot find the project root: no package.json in any folder above ${start}.`);
    }
  }
}

/** `<project>/models`: the project's own model cache and the default download target. */
export function projectModelsDir(root: string = projectRoot()): string {
  return path.join(root, 'models');
}

/** `<project>/../shared/models`: read-only models shared between checkouts (and test assets). */
export function sharedModelsDir(root: string = projectRoot()): string {
  return path.join(root, '..', 'shared', 'models');
}
