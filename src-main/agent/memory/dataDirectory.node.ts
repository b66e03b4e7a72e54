import { accessSync, chmodSync, constants, existsSync, mkdirSync, renameSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { AgentError } from '../../../src-shared/contract/index.js';
import type { DatabaseKey } from './databaseKey.node.js';
import { openConnection, type SqliteDatabase } from './sqliteConnection.node.js';

/** The profile's SQLite file inside the data folder. */
export const DATABASE_FILE_NAME = 'assistant.sqlite3';
/** SQLite's companion files, moved together with the database so they are never replayed into another one. */
export const SIDECAR_SUFFIXES = ['-wal', '-shm', '-journal'] as const;

export function databasePathOf(dataDir: string): string {
  return path.join(path.resolve(dataDir), DATABASE_FILE_NAME);
}

const DATA_DIR_FIX = 'Choose a writable folder with --data-dir or ASSISTANT_DATA_DIR.';

function unusable(dataDir: string, reason: string): AgentError {
  return new AgentError('DATA_DIR_UNUSABLE', `Cannot use ${dataDir} as the data folder: ${reason}. ${DATA_DIR_FIX}`);
}

/** /proc and /sys look like folders but are the kernel's, not storage. */
function virtualFileSystemHint(dir: string): string {
  const top = path.resolve(dir).split(path.sep)[1];
  return top === 'proc' || top === 'sys' || top === 'dev' ? ` (/${top} is a virtual file system of the kernel, not storage)` : '';
}

function errnoReason(error: unknown, action: string, dir: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EACCES':
      return `permission denied to ${action} ${dir}`;
    case 'EPERM':
      return `not allowed to ${action} ${dir}${virtualFileSystemHint(dir)}`;
    case 'EROFS':
      return `${dir} is on a read-only file system`;
    case 'ENOSPC':
    case 'EDQUOT':
      return `no space left to ${action} ${dir}`;
    case 'ENOENT':
      return `the file system at ${path.dirname(dir)} does not allow creating folders${virtualFileSystemHint(dir)}`;
    case 'ENOTDIR':
      return `a part of ${dir} is a file, not a folder`;
    case 'ENAMETOOLONG':
      return `the path ${dir} is too long`;
    case 'ELOOP':
      return `${dir} has a symbolic link loop`;
    default:
      return `cannot ${action} ${dir} (${code ?? (error as Error).message})`;
  }
}

/** stat that tells "does not exist" (undefined) from a real error; a file where a folder is expected counts as absent here. */
function statOrAbsent(target: string, dataDir: string): Stats | undefined {
  try {
    return statSync(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw unusable(dataDir, errnoReason(error, 'look into', target));
  }
}

function checkWritable(dir: string, dataDir: string): void {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw unusable(dataDir, errnoReason(error, 'write in', dir));
  }
}

/**
 * Makes sure the data folder exists and is a writable folder, creating missing parts one at a time. Fails at once, with
 * an error naming the path, where `mkdirSync(..., {recursive: true})` would loop forever (on /proc) or throw a raw errno.
 * Returns the absolute path.
 */
export function ensureDataDir(dataDir: string): string {
  const target = path.resolve(dataDir);
  const missing: string[] = [];
  let existing = target;
  let info = statOrAbsent(existing, target);
  while (info === undefined) {
    const parent = path.dirname(existing);
    if (parent === existing) throw unusable(target, `no part of the path ${target} exists`);
    missing.unshift(existing);
    existing = parent;
    info = statOrAbsent(existing, target);
  }
  if (!info.isDirectory()) {
    throw unusable(target, existing === target ? `${target} is a file, not a folder` : `${existing} is a file, not a folder`);
  }
  checkWritable(existing, target);
  for (const dir of missing) {
    try {
      // Conversations are private: a folder the app creates is the user's alone (chmod: umask-independent).
      mkdirSync(dir, { mode: 0o700 });
      chmodSync(dir, 0o700);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        // Created meanwhile by someone else: fine if it is a folder.
        if (statOrAbsent(dir, target)?.isDirectory()) continue;
        throw unusable(target, `${dir} is a file, not a folder`);
      }
      throw unusable(target, errnoReason(error, 'create', dir));
    }
  }
  return target;
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The command that moves a damaged database aside for this data folder. */
export function resetDatabaseCommand(dataDir: string): string {
  return `assistant doctor --fix --data-dir ${shellQuote(path.resolve(dataDir))}`;
}

export function corruptDatabaseError(file: string, reason: string): AgentError {
  return new AgentError(
    'DATABASE_CORRUPT',
    `The database ${file} is damaged (${reason}) and was left untouched. ` +
      `To move it aside (to ${path.basename(file)}.corrupt-<time>, nothing is deleted) and start with a fresh one, run: ${resetDatabaseCommand(path.dirname(file))}`,
    reason,
  );
}

function sqliteCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

function isCorruption(error: unknown): boolean {
  return /^SQLITE_(NOTADB|CORRUPT)/.test(sqliteCode(error));
}

/**
 * An encrypted database that its key does not open. A wrong key and a damaged first page look the same (SQLite sees no
 * header), so the file is never called damaged, never moved aside, never written: only the right key can tell.
 */
export function wrongKeyError(file: string, key: DatabaseKey): AgentError {
  return new AgentError(
    'DATABASE_KEY_INVALID',
    `The database ${file} is encrypted and the key from ${key.source} does not open it (the key is wrong, or the file's first page is damaged). ` +
      `It was left untouched. Start the assistant with the key it was encrypted with (ASSISTANT_DB_KEY, or restore the key file).`,
  );
}

/** Turns an error from opening or migrating the database into a clear AgentError that names the file. */
export function databaseOpenError(error: unknown, file: string, key?: DatabaseKey): AgentError {
  if (error instanceof AgentError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = sqliteCode(error);
  if (key && code.startsWith('SQLITE_NOTADB')) return wrongKeyError(file, key);
  if (isCorruption(error)) return corruptDatabaseError(file, message);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new AgentError(
      'DATA_DIR_UNUSABLE',
      `The database ${file} is locked by another process (${message}). Close the other assistant, or use another --data-dir.`,
    );
  }
  if (/^SQLITE_(CANTOPEN|READONLY|PERM|IOERR|FULL|AUTH)/.test(code)) {
    return unusable(path.dirname(file), `cannot open ${file} (${message})`);
  }
  return new AgentError('INTERNAL', `Cannot open the database ${file}: ${message}`);
}

/**
 * Checks an existing database before anything writes to it: on a read-only connection (so a damaged file is never
 * modified), `PRAGMA quick_check` (a few ms for thousands of messages). Throws DATABASE_CORRUPT; with a `key`, a file
 * the key does not open throws DATABASE_KEY_INVALID instead (see wrongKeyError). Other problems (a lock, a read-only
 * quirk) are left to the read-write open, which reports them.
 */
export function checkDatabaseFile(file: string, options: { nativeBinding?: string | undefined; key?: DatabaseKey | undefined } = {}): void {
  let info: Stats;
  try {
    info = statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw unusable(path.dirname(file), errnoReason(error, 'read', file));
  }
  if (!info.isFile()) throw unusable(path.dirname(file), `${file} is not a file`);
  if (info.size === 0) return; // SQLite treats an empty file as a new, empty database.
  let db: SqliteDatabase | undefined;
  const { key } = options;
  try {
    db = openConnection(file, { readonly: true, fileMustExist: true, nativeBinding: options.nativeBinding, key: key?.bytes });
    const rows = db.pragma('quick_check(3)') as Array<Record<string, unknown>>;
    const problems = rows.map((row) => String(Object.values(row)[0]));
    if (problems[0] !== 'ok') throw corruptDatabaseError(file, problems.join('; ') || 'quick_check found problems');
  } catch (error) {
    if (error instanceof AgentError) throw error;
    if (key && sqliteCode(error).startsWith('SQLITE_NOTADB')) throw wrongKeyError(file, key);
    if (isCorruption(error)) throw corruptDatabaseError(file, (error as Error).message);
  } finally {
    try {
      db?.close();
    } catch {
      // Closing a connection that failed to open cannot lose anything.
    }
  }
}

export interface MovedDatabase {
  /** The new name of the database file. */
  movedTo: string;
  /** Every file moved (the database and its -wal/-shm/-journal), new names. */
  files: string[];
}

/**
 * Moves the data folder's database and its companion files aside to `assistant.sqlite3.corrupt-<timestamp>` (never
 * deleting or overwriting anything), so the next start creates a fresh one. The companions go first: a stray -wal
 * left next to a fresh database could be replayed into it.
 */
export function moveDatabaseAside(dataDir: string, now: Date = new Date()): MovedDatabase {
  const file = databasePathOf(dataDir);
  if (!existsSync(file)) throw new AgentError('NOT_FOUND', `There is no database at ${file} to move aside.`);
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  let target = `${file}.corrupt-${stamp}`;
  const taken = (candidate: string) => [candidate, ...SIDECAR_SUFFIXES.map((suffix) => candidate + suffix)].some((name) => existsSync(name));
  for (let attempt = 2; taken(target); attempt++) target = `${file}.corrupt-${stamp}-${attempt}`;
  const files: string[] = [];
  try {
    for (const suffix of SIDECAR_SUFFIXES) {
      if (!existsSync(file + suffix)) continue;
      renameSync(file + suffix, target + suffix);
      files.push(target + suffix);
    }
    renameSync(file, target);
    files.push(target);
  } catch (error) {
    throw unusable(path.dirname(file), errnoReason(error, 'move files in', path.dirname(file)));
  }
  return { movedTo: target, files };
}
