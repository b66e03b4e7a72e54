import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { AgentError } from '../../src-shared/contract/index.js';
import { formatBytes } from './modelResolver.node.js';

export interface DownloadProgress {
  /** Bytes in the partial file so far, including any resumed prefix. Never decreases within one call. */
  bytes: number;
  /** Full file size when the server or the manifest says it; null when unknown. */
  total: number | null;
  /** Bytes already on disk from an earlier attempt when this call started. */
  resumedFromBytes: number;
  /** Transfer rate of this call, excluding the resumed prefix. */
  bytesPerSecond: number;
}

export interface ModelDownloadRequest {
  url: string;
  /** Final path of the verified file. `<destination>.partial` and `<destination>.rejected` sit beside it. */
  destination: string;
  /** Expected size from the manifest; used for the total and to spot a stale partial. */
  sizeBytes?: number;
  /** Expected digests (lowercase hex). With neither, the result says the file was not verified. */
  sha256?: string | null;
  sha1?: string;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Called when every byte is there and the checksum is being computed. */
  onVerifying?: () => void;
  /** The command that resumes this download, quoted in error messages. */
  resumeCommand?: string;
  /** Give up when no data arrives for this long. */
  idleTimeoutMs?: number;
}

export interface FileDigests {
  sha256: string;
  sha1?: string;
}

export interface ModelDownloadResult extends FileDigests {
  path: string;
  bytes: number;
  resumedFromBytes: number;
  /** False when the request carried no checksum to compare against. */
  checksumVerified: boolean;
}

const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** Why a transfer failed, for callers that word their own message (the app's one-sentence offline hint). */
export type DownloadFailureKind = 'unreachable' | 'http-status' | 'interrupted' | 'timeout' | 'cancelled' | 'size-mismatch';

/** A failed or cancelled transfer (DOWNLOAD_FAILED or CANCELLED); the partial file is kept for the next call to resume. */
export class DownloadFailure extends AgentError {
  constructor(
    code: 'DOWNLOAD_FAILED' | 'CANCELLED',
    message: string,
    readonly kind: DownloadFailureKind,
    /** Bytes kept in the partial file. */
    readonly keptBytes: number,
    readonly httpStatus?: number,
  ) {
    super(code, message);
    this.name = 'DownloadFailure';
  }
}

export function partialPath(destination: string): string {
  return `${destination}.partial`;
}

export function rejectedPath(destination: string): string {
  return `${destination}.rejected`;
}

/** Held (created with O_EXCL) while a process writes `<destination>.partial`, so a second writer, in this or another process, backs off. */
export function downloadLockPath(destination: string): string {
  return `${partialPath(destination)}.lock`;
}

interface LockOwner {
  pid: number;
  startedAt: string;
}

/**
 * Takes the per-file download lock (a folder model's download takes one for its folder too), or throws
 * ALREADY_DOWNLOADING naming the process that holds it. A lock left by a process that is gone (crash, kill -9) is
 * taken over. Returns the release.
 */
export async function acquireDownloadLock(destination: string): Promise<() => Promise<void>> {
  const lock = downloadLockPath(destination);
  const owner: LockOwner = { pid: process.pid, startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const handle = await open(lock, 'wx');
      try {
        await handle.writeFile(JSON.stringify(owner));
      } finally {
        await handle.close();
      }
      return async () => {
        // Only remove our own lock, never one a later process took over.
        const current = await readLockOwner(lock);
        if (current?.pid === owner.pid && current.startedAt === owner.startedAt) await rm(lock, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readLockOwner(lock);
    if (holder !== null && isAlive(holder.pid)) {
      throw new AgentError(
        'ALREADY_DOWNLOADING',
        `${path.basename(destination)} is already being downloaded (by process ${holder.pid}); it resumes when that one stops.`,
      );
    }
    if (holder === null) {
      // Being written right now by its creator, or garbage: give a writer a moment before treating it as stale.
      await new Promise((resolve) => setTimeout(resolve, 50));
      if ((await readLockOwner(lock)) !== null) continue;
    }
    await rm(lock, { force: true });
  }
  throw new AgentError('ALREADY_DOWNLOADING', `${path.basename(destination)} is already being downloaded by another process; it resumes when that one stops.`);
}

async function readLockOwner(lock: string): Promise<LockOwner | null> {
  try {
    const parsed = JSON.parse(await readFile(lock, 'utf8')) as Partial<LockOwner>;
    return typeof parsed.pid === 'number' && Number.isInteger(parsed.pid) && parsed.pid > 0
      ? { pid: parsed.pid, startedAt: String(parsed.startedAt) }
      : null;
  } catch {
    return null;
  }
}

/** Whether a live process (this one or another) is downloading `destination` now: it holds the download lock. */
export function isDownloadRunning(destination: string): boolean {
  try {
    const parsed = JSON.parse(readFileSync(downloadLockPath(destination), 'utf8')) as Partial<LockOwner>;
    return typeof parsed.pid === 'number' && Number.isInteger(parsed.pid) && parsed.pid > 0 && isAlive(parsed.pid);
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Downloads `url` to `<destination>.partial`, resuming with an HTTP Range request when a partial is
 * already there, verifies the checksum, then renames it into place. The final path only ever holds
 * a verified file: a mismatch moves the download to `<destination>.rejected`. A network failure or
 * an abort keeps the partial so the next call resumes it.
 */
export async function downloadModelFile(request: ModelDownloadRequest): Promise<ModelDownloadResult> {
  const folder = path.dirname(request.destination);
  const firstCreated = await mkdir(folder, { recursive: true });
  const release = await acquireDownloadLock(request.destination);
  try {
    return await downloadLocked(request);
  } catch (error) {
    await release();
    // Nothing arrived: leave no empty folders behind that this call made.
    if (firstCreated !== undefined) await removeEmptyFolders(folder, firstCreated);
    throw error;
  } finally {
    await release();
  }
}

/** Removes `from` and its parents up to `upTo` while they are empty (folders a failed download made and left empty). */
export async function removeEmptyFolders(from: string, upTo: string): Promise<void> {
  let folder = from;
  for (;;) {
    try {
      await rmdir(folder);
    } catch {
      return; // not empty (a partial is kept), or already gone
    }
    if (path.resolve(folder) === path.resolve(upTo)) return;
    const parent = path.dirname(folder);
    if (parent === folder) return;
    folder = parent;
  }
}

async function downloadLocked(request: ModelDownloadRequest): Promise<ModelDownloadResult> {
  const partial = partialPath(request.destination);

  let partialBytes = await fileSize(partial);
  if (request.sizeBytes !== undefined && partialBytes > request.sizeBytes) {
    // Longer than the real file: not a prefix of it, so start over.
    await rm(partial, { force: true });
    partialBytes = 0;
  }
  const alreadyComplete = request.sizeBytes !== undefined && partialBytes === request.sizeBytes;
  const resumedFromBytes = alreadyComplete ? partialBytes : await transferInto(partial, partialBytes, request);

  request.onVerifying?.();
  const digests = await hashFile(partial, Boolean(request.sha1));
  const bytes = await fileSize(partial);
  const problems = checksumProblems(request, digests, bytes);
  if (problems.length > 0) {
    const rejected = rejectedPath(request.destination);
    await rename(partial, rejected);
    throw new AgentError(
      'CHECKSUM_MISMATCH',
      `The download of ${request.url} is not the expected file: ${problems.join('; ')}. ` +
        `It was moved aside to ${rejected} and nothing was installed. ` +
        `Run ${quoteCommand(request)} again to download it afresh; if this repeats, the upstream file has changed or something between you and the server alters it.`,
    );
  }
  await rename(partial, request.destination);
  return {
    path: request.destination,
    bytes,
    resumedFromBytes,
    ...digests,
    checksumVerified: Boolean(request.sha256) || Boolean(request.sha1),
  };
}

/** One HTTP request appending to (206) or rewriting (200) the partial file; returns the offset it continued from. */
async function transferInto(partial: string, offset: number, request: ModelDownloadRequest): Promise<number> {
  const idleTimeoutMs = request.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const idle = new AbortController();
  let idleTimer = setTimeout(() => idle.abort(), idleTimeoutMs);
  const resetIdle = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => idle.abort(), idleTimeoutMs);
  };
  const signal = request.signal ? AbortSignal.any([request.signal, idle.signal]) : idle.signal;
  const fail = (cause: unknown, kind: DownloadFailureKind, httpStatus?: number) =>
    transferError(cause, request, partial, idle.signal.aborted, idleTimeoutMs, kind, httpStatus);

  try {
    let response: Response;
    try {
      response = await fetch(request.url, { headers: offset > 0 ? { Range: `bytes=${offset}-` } : {}, signal });
    } catch (error) {
      throw await fail(error, 'unreachable');
    }

    const range = response.status === 206 ? parseContentRange(response.headers.get('content-range')) : null;
    const cannotContinue = offset > 0 && (response.status === 416 || (response.status === 206 && range?.start !== offset));
    if (cannotContinue) {
      // The server cannot continue from our offset (the partial is stale or from another version): start over.
      await response.body?.cancel();
      await rm(partial, { force: true });
      clearTimeout(idleTimer);
      return transferInto(partial, 0, request);
    }
    if (response.status !== 200 && response.status !== 206) {
      await response.body?.cancel();
      throw await fail(new Error(`the server answered HTTP ${response.status} ${response.statusText}`.trim()), 'http-status', response.status);
    }

    let start = offset;
    let total: number | null;
    if (response.status === 206) {
      total = range?.total ?? request.sizeBytes ?? null;
    } else {
      // 200 to a Range request means the server ignored it and sends the whole file: rewrite from 0.
      start = 0;
      total = contentLength(response) ?? request.sizeBytes ?? null;
    }
    const announced = response.status === 206 ? (range?.total ?? null) : contentLength(response);
    if (request.sizeBytes !== undefined && announced !== null && announced !== request.sizeBytes) {
      await response.body?.cancel();
      throw sizeMismatch(request, `the server sends ${announced} bytes`, await fileSize(partial));
    }
    if (response.body === null) throw await fail(new Error('the server sent no body'), 'interrupted');

    const startedAt = performance.now();
    let bytes = start;
    const report = () => {
      const seconds = (performance.now() - startedAt) / 1000;
      request.onProgress?.({ bytes, total, resumedFromBytes: start, bytesPerSecond: seconds > 0 ? (bytes - start) / seconds : 0 });
    };
    report();
    try {
      await pipeline(
        Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>),
        async function* countBytes(chunks: AsyncIterable<Uint8Array>) {
          for await (const chunk of chunks) {
            resetIdle();
            bytes += chunk.byteLength;
            if (request.sizeBytes !== undefined && bytes > request.sizeBytes) throw new TooManyBytes(bytes);
            report();
            yield chunk;
          }
        },
        createWriteStream(partial, { flags: start > 0 ? 'a' : 'w' }),
      );
    } catch (error) {
      if (error instanceof TooManyBytes) {
        // Longer than the manifest's file: not the file we want, and not worth resuming.
        await rm(partial, { force: true });
        throw sizeMismatch(request, `more than that arrived (${error.bytes} bytes so far)`, 0);
      }
      throw await fail(error, 'interrupted');
    }
    if (total !== null && bytes < total) {
      throw await fail(new Error(`the server closed the connection after ${formatBytes(bytes)} of ${formatBytes(total)}`), 'interrupted');
    }
    return start;
  } finally {
    clearTimeout(idleTimer);
  }
}

class TooManyBytes extends Error {
  constructor(readonly bytes: number) {
    super(`received ${bytes} bytes`);
  }
}

function contentLength(response: Response): number | null {
  const header = response.headers.get('content-length');
  const length = header === null ? NaN : Number(header);
  return Number.isFinite(length) && length > 0 ? length : null;
}

function sizeMismatch(request: ModelDownloadRequest, what: string, keptBytes: number): DownloadFailure {
  return new DownloadFailure(
    'DOWNLOAD_FAILED',
    `The download of ${request.url} was stopped because the manifest says the file has ${request.sizeBytes} bytes but ${what}; check the entry's url and sizeBytes.`,
    'size-mismatch',
    keptBytes,
  );
}

async function transferError(
  cause: unknown,
  request: ModelDownloadRequest,
  partial: string,
  timedOut: boolean,
  idleTimeoutMs: number,
  kind: DownloadFailureKind,
  httpStatus?: number,
): Promise<DownloadFailure> {
  const kept = await fileSize(partial);
  const keptNote =
    kept > 0
      ? `The ${formatBytes(kept)} received so far are kept in ${partial}; run ${quoteCommand(request)} again to resume from there.`
      : `Run ${quoteCommand(request)} again to retry.`;
  const offlineNote = `If this machine is offline, download ${request.url} elsewhere and copy it to ${request.destination}.`;
  if (request.signal?.aborted) {
    return new DownloadFailure('CANCELLED', `The download of ${path.basename(request.destination)} was cancelled. ${keptNote}`, 'cancelled', kept);
  }
  const reason = timedOut ? `no data arrived for ${Math.round(idleTimeoutMs / 1000)} s` : describeCause(cause);
  return new DownloadFailure(
    'DOWNLOAD_FAILED',
    `The download of ${request.url} failed: ${reason}. ${keptNote} ${offlineNote}`,
    timedOut ? 'timeout' : kind,
    kept,
    httpStatus,
  );
}

/** fetch() wraps the useful reason (ECONNREFUSED, "other side closed") in `cause`. */
function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error && cause.message) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code && !cause.message.includes(code) ? `${error.message} (${code}: ${cause.message})` : `${error.message} (${cause.message})`;
  }
  return error.message;
}

function quoteCommand(request: ModelDownloadRequest): string {
  return request.resumeCommand ? `"${request.resumeCommand}"` : 'the same download';
}

function parseContentRange(header: string | null): { start: number; total: number | null } | null {
  const match = header?.match(/^bytes (\d+)-\d+\/(\d+|\*)$/);
  if (!match) return null;
  return { start: Number(match[1]), total: match[2] === '*' ? null : Number(match[2]) };
}

function checksumProblems(request: ModelDownloadRequest, digests: FileDigests, bytes: number): string[] {
  const problems: string[] = [];
  if (request.sha256 && request.sha256 !== digests.sha256) {
    problems.push(`expected sha256 ${request.sha256}, got ${digests.sha256}`);
  }
  if (request.sha1 && request.sha1 !== digests.sha1) {
    problems.push(`expected sha1 ${request.sha1}, got ${digests.sha1}`);
  }
  if (request.sizeBytes !== undefined && request.sizeBytes !== bytes) {
    problems.push(`expected ${request.sizeBytes} bytes, got ${bytes}`);
  }
  return problems;
}

/** sha256 always (it is what gets reported); sha1 only on request, since it more than doubles the time. */
export async function hashFile(file: string, withSha1 = false): Promise<FileDigests> {
  const sha256 = createHash('sha256');
  const sha1 = withSha1 ? createHash('sha1') : undefined;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    sha256.update(chunk as Buffer);
    sha1?.update(chunk as Buffer);
  }
  return sha1 ? { sha256: sha256.digest('hex'), sha1: sha1.digest('hex') } : { sha256: sha256.digest('hex') };
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}
