import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  acquireDownloadLock,
  DownloadFailure,
  downloadModelFile,
  hashFile,
  partialPath,
  rejectedPath,
  removeEmptyFolders,
  type DownloadProgress,
} from './modelDownloader.node.js';
import type { ModelFolderFile } from './modelManifest.js';
import { formatBytes } from './modelResolver.node.js';

export interface ModelFolderDownloadRequest {
  /** Final folder. Until every file is verified the download lives in `<destination>.partial/`. */
  destination: string;
  files: readonly ModelFolderFile[];
  signal?: AbortSignal;
  /** Summed over the files: bytes and total are the folder's. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Called when the last file's bytes are all there and its checksum is being computed. */
  onVerifying?: () => void;
  /** The command that resumes this download, quoted in error messages. */
  resumeCommand?: string;
  idleTimeoutMs?: number;
}

export interface ModelFolderDownloadResult {
  path: string;
  /** The folder's size: every file's bytes. */
  bytes: number;
  /** Bytes that were already there when this call started (verified files and partial files). */
  resumedFromBytes: number;
  /** Every file of a folder model has a sha256 in the manifest, so this is always true. */
  checksumVerified: true;
}

/** `<destination>.partial`: the folder a folder model is downloaded into, renamed into place once complete. */
export function partialFolderPath(destination: string): string {
  return partialPath(destination);
}

/**
 * Downloads a folder model file by file with downloadModelFile (each resumable with a Range request, checksummed, only
 * ever at its own name once verified) into `<destination>.partial/`, then renames that folder to `destination`: the
 * model folder appears only once every file in it is verified. Progress is summed over the files. A file already
 * verified by an earlier call is checked again (sha256) and kept; a partial file is resumed. A failure or cancel keeps
 * everything received so far (`keptBytes` of a DownloadFailure counts the whole folder) for the next call to resume.
 * One writer per folder: a second one gets ALREADY_DOWNLOADING.
 */
export async function downloadModelFolder(request: ModelFolderDownloadRequest): Promise<ModelFolderDownloadResult> {
  const parent = path.dirname(request.destination);
  const firstCreated = await mkdir(parent, { recursive: true });
  const removeMadeFolders = async () => {
    if (firstCreated !== undefined) await removeEmptyFolders(parent, firstCreated);
  };
  let release: () => Promise<void>;
  try {
    release = await acquireDownloadLock(request.destination);
  } catch (error) {
    // Another writer has it (its folders are its own): only what this call made goes.
    await removeMadeFolders();
    throw error;
  }
  try {
    return await downloadFolderLocked(request);
  } catch (error) {
    await release();
    // Nothing arrived: leave no empty folders behind.
    await removeEmptyFolders(partialFolderPath(request.destination), partialFolderPath(request.destination));
    await removeMadeFolders();
    throw error;
  } finally {
    await release();
  }
}

async function downloadFolderLocked(request: ModelFolderDownloadRequest): Promise<ModelFolderDownloadResult> {
  const { destination, files } = request;
  const partialFolder = partialFolderPath(destination);
  const total = files.reduce((sum, file) => sum + file.sizeBytes, 0);

  // An incomplete folder at the destination (an earlier copy by hand, another version): its good files are reused.
  if (await isDirectory(destination)) {
    if (await isDirectory(partialFolder)) await rm(destination, { recursive: true, force: true });
    else await rename(destination, partialFolder);
  }
  await mkdir(partialFolder, { recursive: true });

  const startedAt = performance.now();
  /** Bytes of the files finished so far (verified now or before). */
  let doneBytes = 0;
  /** Bytes this call transferred, for the rate. */
  let transferredBefore = 0;
  let resumedFromBytes = 0;
  let reported = 0;
  const report = (bytes: number, transferred: number) => {
    reported = Math.max(reported, bytes);
    const seconds = (performance.now() - startedAt) / 1000;
    request.onProgress?.({ bytes: reported, total, resumedFromBytes, bytesPerSecond: seconds > 0 ? transferred / seconds : 0 });
  };

  for (const [index, file] of files.entries()) {
    const target = path.join(partialFolder, ...file.path.split('/'));
    if (await alreadyVerified(target, file)) {
      doneBytes += file.sizeBytes;
      resumedFromBytes += file.sizeBytes;
      report(doneBytes, transferredBefore);
      continue;
    }
    let firstProgress = true;
    let transferredHere = 0;
    try {
      await downloadModelFile({
        url: file.url,
        destination: target,
        sizeBytes: file.sizeBytes,
        sha256: file.sha256,
        ...(request.signal && { signal: request.signal }),
        ...(request.resumeCommand !== undefined && { resumeCommand: request.resumeCommand }),
        ...(request.idleTimeoutMs !== undefined && { idleTimeoutMs: request.idleTimeoutMs }),
        onProgress: (progress) => {
          if (firstProgress) {
            firstProgress = false;
            resumedFromBytes += progress.resumedFromBytes;
          }
          transferredHere = progress.bytes - progress.resumedFromBytes;
          report(doneBytes + progress.bytes, transferredBefore + transferredHere);
        },
        ...(index === files.length - 1 && request.onVerifying && { onVerifying: request.onVerifying }),
      });
    } catch (error) {
      if (error instanceof DownloadFailure) {
        // The same failure, counting what the whole folder keeps for the next call.
        const kept = doneBytes + error.keptBytes;
        if (error.kind === 'cancelled') {
          const again = request.resumeCommand ? `"${request.resumeCommand}"` : 'the same download';
          const keptNote = kept > 0 ? `The ${formatBytes(kept)} received so far are kept in ${partialFolder}; run ${again} again to resume from there.` : `Run ${again} again to retry.`;
          throw new DownloadFailure('CANCELLED', `The download of ${path.basename(destination)} was cancelled. ${keptNote}`, 'cancelled', kept);
        }
        throw new DownloadFailure(error.code as 'DOWNLOAD_FAILED' | 'CANCELLED', error.message, error.kind, kept, error.httpStatus);
      }
      throw error;
    }
    if (firstProgress) resumedFromBytes += file.sizeBytes; // complete partial: verified without a request
    transferredBefore += transferredHere;
    doneBytes += file.sizeBytes;
    report(doneBytes, transferredBefore);
  }

  // Leftovers of earlier attempts are not part of the model.
  for (const file of files) await rm(rejectedPath(path.join(partialFolder, ...file.path.split('/'))), { force: true });
  await rename(partialFolder, destination);
  return { path: destination, bytes: total, resumedFromBytes, checksumVerified: true };
}

/** A file already at its name in the partial folder was verified when it got there; checked again, as it may have been put there by hand. */
async function alreadyVerified(target: string, file: ModelFolderFile): Promise<boolean> {
  let size: number;
  try {
    const info = await stat(target);
    if (!info.isFile()) return false;
    size = info.size;
  } catch {
    return false;
  }
  if (size === file.sizeBytes && (await hashFile(target)).sha256 === file.sha256) return true;
  await rm(target, { force: true });
  return false;
}

async function isDirectory(folder: string): Promise<boolean> {
  try {
    return (await stat(folder)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Bytes a folder model's interrupted download keeps in `<destination>.partial/` (verified files and partial files),
 * for "resume from N" in the models list; 0 when there is none.
 */
export async function partialFolderBytes(destination: string, files: readonly ModelFolderFile[]): Promise<number> {
  const partialFolder = partialFolderPath(destination);
  let bytes = 0;
  for (const file of files) {
    const target = path.join(partialFolder, ...file.path.split('/'));
    const size = (await fileSize(target)) ?? (await fileSize(partialPath(target))) ?? 0;
    bytes += Math.min(size, file.sizeBytes);
  }
  return bytes;
}

async function fileSize(file: string): Promise<number | null> {
  try {
    const info = await stat(file);
    return info.isFile() ? info.size : null;
  } catch {
    return null;
  }
}
