import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { SKIPPED_DOCUMENT_FOLDERS, type FileOutcome } from '../../src-shared/contract/index.js';
import { isSupportedDocumentPath } from './documentExtraction.node.js';

/** More files than this in one request is almost surely the wrong folder (a home directory, a drive). */
export const MAX_FILES_PER_JOB = 20_000;


export interface ExpandedPaths {
  files: string[];
  /** Folders among the paths (to watch when asked). */
  folders: string[];
  failed: FileOutcome[];
}

/**
 * Files to ingest from what the user gave: files as they are (an unsupported one is still tried, so its reason is
 * reported by name), folders walked recursively for supported documents, hidden files and folders skipped, symlink
 * loops followed once. A path that does not exist is reported, and the others go on.
 */
export async function expandDocumentPaths(paths: readonly string[], signal?: AbortSignal): Promise<ExpandedPaths> {
  const result: ExpandedPaths = { files: [], folders: [], failed: [] };
  const seen = new Set<string>();
  const visitedFolders = new Set<string>();
  const addFile = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    result.files.push(file);
  };

  const walk = async (folder: string): Promise<void> => {
    signal?.throwIfAborted();
    const real = await fs.realpath(folder).catch(() => folder);
    if (visitedFolders.has(real)) return;
    visitedFolders.add(real);
    let entries;
    try {
      entries = await fs.readdir(folder, { withFileTypes: true });
    } catch (error) {
      result.failed.push({ source: folder, status: 'failed', reason: `${path.basename(folder)} could not be read (${codeOf(error)}).` });
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (entry.name.startsWith('.') || SKIPPED_DOCUMENT_FOLDERS.has(entry.name)) continue;
      const full = path.join(folder, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const target = await fs.stat(full).catch(() => undefined);
        isDir = target?.isDirectory() ?? false;
        isFile = target?.isFile() ?? false;
      }
      if (isDir) await walk(full);
      else if (isFile && isSupportedDocumentPath(full)) addFile(full);
      if (result.files.length > MAX_FILES_PER_JOB) return;
    }
  };

  for (const given of paths) {
    const absolute = path.resolve(given);
    const stat = await fs.stat(absolute).catch((error: unknown) => error as NodeJS.ErrnoException);
    if (stat instanceof Error) {
      const reason = stat.code === 'ENOENT' ? 'does not exist' : `cannot be read (${stat.code ?? stat.message})`;
      result.failed.push({ source: absolute, status: 'failed', reason: `${absolute} ${reason}.` });
    } else if (stat.isDirectory()) {
      result.folders.push(absolute);
      await walk(absolute);
    } else if (stat.isFile()) addFile(absolute);
    else result.failed.push({ source: absolute, status: 'failed', reason: `${absolute} is not a regular file or folder.` });
    if (result.files.length > MAX_FILES_PER_JOB) {
      result.failed.push({
        source: absolute,
        status: 'failed',
        reason: `More than ${MAX_FILES_PER_JOB} documents were found under ${absolute}: choose a smaller folder.`,
      });
      result.files.length = 0;
      break;
    }
  }
  return result;
}

/** A document's id: the same file (by path) always gets the same id, so a changed file replaces its own chunks. */
export function documentIdOf(source: string): string {
  return createHash('sha256').update(source).digest('hex').slice(0, 16);
}

export function codeOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (error instanceof Error ? error.message : String(error));
}
