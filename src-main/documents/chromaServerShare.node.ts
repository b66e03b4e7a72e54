import { execFileSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readFileSync, readlinkSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/*
 * One Chroma server per data folder, shared by every process of the app that uses that folder (the desktop app,
 * `assistant serve`, `assistant ingest` in a terminal). Two files sit next to the data folder:
 *
 * - `<dataDir>.lock`: exists while one process starts a server (created exclusively with the 'wx' flag, holding
 *   `{ pid, token, createdAt }`). Only its holder may spawn `chroma run` on the folder, and only after checking that no
 *   live server is recorded. A lock whose pid is dead (or that is older than LOCK_MAX_AGE_MS) is stale.
 * - `<dataDir>.server.json`: `{ ownerPid, serverPid, port, startedAt, stopping? }`, written (atomically, by rename)
 *   by the process that owns the running server once it answers, rewritten with `stopping: true` while it stops,
 *   removed once its server is gone (on stop, on a crash of the server, and in the owner's exit hook).
 *
 * Both files are removed by this process's exit hook while it holds them.
 */

export const ServerRecordSchema = z.object({
  ownerPid: z.number().int().positive(),
  serverPid: z.number().int().positive(),
  port: z.number().int().min(1).max(65_535),
  startedAt: z.string(),
  stopping: z.boolean().optional(),
});

export type ServerRecord = z.infer<typeof ServerRecordSchema>;

const LockSchema = z.object({ pid: z.number().int().positive(), token: z.string(), createdAt: z.string() });

/** A start holds the lock for at most its start timeout plus the time to stop a failed child: past this it is stale. */
const LOCK_MAX_AGE_MS = 5 * 60_000;
/** A lock file that cannot be read as JSON may be one being written this instant; older than this, it is debris. */
const UNREADABLE_LOCK_GRACE_MS = 2_000;

export function serverFileOf(dataDir: string): string {
  return `${dataDir}.server.json`;
}

export function lockFileOf(dataDir: string): string {
  return `${dataDir}.lock`;
}

/** The recorded server, `'invalid'` for a file that is not a record, undefined when there is none. */
export function readServerRecord(file: string): ServerRecord | 'invalid' | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = ServerRecordSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : 'invalid';
  } catch {
    return 'invalid';
  }
}

export function sameServer(a: ServerRecord, b: ServerRecord): boolean {
  return a.ownerPid === b.ownerPid && a.serverPid === b.serverPid && a.port === b.port && a.startedAt === b.startedAt;
}

/** Writes the record atomically (readers see the old one or the new one, never half of it). */
export function writeServerRecord(file: string, record: ServerRecord): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(record)}\n`);
  renameSync(temporary, file);
  onExit(recordKey(file, record), () => removeServerRecord(file, record));
}

/** Removes the record if it is still this one (another process may have replaced it meanwhile). */
export function removeServerRecord(file: string, record: ServerRecord): void {
  forgetOnExit(recordKey(file, record));
  const current = readServerRecord(file);
  if (current === undefined || current === 'invalid' || !sameServer(current, record)) return;
  tryUnlink(file);
}

/** Removes whatever is at `file` (a stale or unreadable record, judged while holding the lock). */
export function discardServerRecord(file: string): void {
  tryUnlink(file);
}

export interface DataFolderLock {
  release(): void;
}

/**
 * Takes the start lock if it is free (or stale: then it is removed first); undefined while a live process holds it.
 * `onStale` hears about each stale lock removed.
 */
export function tryLock(file: string, onStale?: (holder: string) => void): DataFolderLock | undefined {
  mkdirSync(path.dirname(file), { recursive: true });
  const token = randomUUID();
  const content = JSON.stringify({ pid: process.pid, token, createdAt: new Date().toISOString() });
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      writeFileSync(file, content, { flag: 'wx' });
      onExit(`${file}\0${token}`, () => releaseLock(file, token));
      return { release: () => releaseLock(file, token) };
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
    }
    const seen = readLockHolder(file);
    if (seen === undefined) continue; // released meanwhile: try again
    if (!seen.stale) return undefined;
    onStale?.(seen.text);
    removeStale(file, seen.text);
  }
  return undefined;
}

function readLockHolder(file: string): { text: string; stale: boolean } | undefined {
  let text: string;
  let ageMs: number;
  try {
    text = readFileSync(file, 'utf8');
    ageMs = Date.now() - statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
  let holder: z.infer<typeof LockSchema> | undefined;
  try {
    const parsed = LockSchema.safeParse(JSON.parse(text));
    if (parsed.success) holder = parsed.data;
  } catch {
    holder = undefined;
  }
  if (!holder) return { text, stale: ageMs > UNREADABLE_LOCK_GRACE_MS };
  return { text, stale: !isProcessAlive(holder.pid) || ageMs > LOCK_MAX_AGE_MS };
}

/**
 * Removes a stale lock without removing a fresh one that replaced it meanwhile (two waiters can judge the same stale
 * lock): it is moved aside first (atomic), and put back if what was moved is not what was judged stale.
 */
function removeStale(file: string, judged: string): void {
  const aside = `${file}.${process.pid}.${randomUUID().slice(0, 8)}.stale`;
  try {
    renameSync(file, aside);
  } catch {
    return; // someone else removed it
  }
  let moved = '';
  try {
    moved = readFileSync(aside, 'utf8');
  } catch {
    // unreadable: treat as the stale one
    moved = judged;
  }
  if (moved !== judged) {
    try {
      // link fails if a lock exists again: then the newest one stands.
      linkSync(aside, file);
    } catch {
      // nothing more to do
    }
  }
  tryUnlink(aside);
}

function releaseLock(file: string, token: string): void {
  forgetOnExit(`${file}\0${token}`);
  try {
    const holder = LockSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!holder.success || holder.data.token !== token) return;
  } catch {
    return;
  }
  tryUnlink(file);
}

const procMounted = process.platform === 'linux' && existsSync('/proc/self/stat');

/** Whether `pid` is a running process (a zombie, dead but not yet reaped, is not). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    if (errorCode(error) !== 'EPERM') return false;
  }
  if (procMounted) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state === 'Z' || state === 'X') return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Whether `pid` is a `chroma run` on `dataDir` (a recorded pid may have been reused by another program since); undefined
 * when the command line cannot be read. Paths are compared after resolving symlinks, as two processes may name the
 * same folder differently.
 */
export function isChromaOn(pid: number, dataDir: string): boolean | undefined {
  let args: string[];
  let cwd: string | undefined;
  if (procMounted) {
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      return isProcessAlive(pid) ? undefined : false;
    }
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      cwd = undefined;
    }
  } else if (process.platform !== 'win32') {
    try {
      const command = execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8', timeout: 2_000, stdio: ['ignore', 'pipe', 'ignore'] });
      // ps joins the arguments with spaces: good enough to find ours, whose path is given in full.
      const found = / --path (.+?) --host /.exec(command);
      if (!command.includes(' run ') || !found) return false;
      args = ['run', '--path', found[1]!];
    } catch {
      return undefined;
    }
  } else {
    return undefined;
  }
  const at = args.indexOf('--path');
  const given = at >= 0 ? args[at + 1] : undefined;
  if (given === undefined || !args.includes('run')) return false;
  if (given === dataDir) return true;
  const theirs = path.isAbsolute(given) ? given : cwd === undefined ? undefined : path.resolve(cwd, given);
  return theirs !== undefined && realPath(theirs) === realPath(dataDir);
}

function realPath(file: string): string {
  try {
    return realpathSync(path.resolve(file));
  } catch {
    return path.resolve(file);
  }
}

function recordKey(file: string, record: ServerRecord): string {
  return `${file}\0${record.serverPid}\0${record.startedAt}`;
}

// What this process must remove if it exits holding it (exit handlers must be synchronous), by file and holding.
const exitCleanups = new Map<string, () => void>();
let exitHookInstalled = false;

function onExit(key: string, cleanup: () => void): void {
  exitCleanups.set(key, cleanup);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const each of [...exitCleanups.values()]) {
      try {
        each();
      } catch {
        // best effort on the way out
      }
    }
  });
}

function forgetOnExit(key: string): void {
  exitCleanups.delete(key);
}

function tryUnlink(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}
