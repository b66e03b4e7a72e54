import { chmodSync, closeSync, copyFileSync, existsSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { AgentError } from '../../../src-shared/contract/index.js';
import type { DatabaseKey } from './databaseKey.node.js';
import { syncDirectory } from './databaseKey.node.js';
import { SIDECAR_SUFFIXES } from './dataDirectory.node.js';
import { CIPHER_PAGE_SIZE, databaseFileState, openConnection, tableRowCounts, type DatabaseFileState, type SqliteDatabase } from './sqliteConnection.node.js';

/** The encrypted copy while it is being made; renamed over the database once verified. */
export const ENCRYPTING_SUFFIX = '.encrypting';
/** A plaintext copy kept until the encrypted database has been opened with its key after the swap. */
export const PLAINTEXT_BACKUP_SUFFIX = '.plaintext-backup';

/** The points of the migration a crash can fall between (tests stop it at each). */
export type EncryptionStep = 'copied' | 'encrypted' | 'verified' | 'backed-up' | 'swapped';

export interface EncryptedMigration {
  file: string;
  tables: number;
  rows: number;
  ms: number;
}

function removeWithSidecars(file: string): void {
  for (const name of [file, ...SIDECAR_SUFFIXES.map((suffix) => file + suffix)]) rmSync(name, { force: true });
}

function fsyncFile(file: string): void {
  const fd = openSync(file, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function privateCopy(from: string, to: string): void {
  copyFileSync(from, to);
  chmodSync(to, 0o600);
  fsyncFile(to);
}

function sameCounts(a: Record<string, number>, b: Record<string, number>): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * What an earlier migration left when the process died in it, settled before the database is opened. Either the
 * database is still the plaintext one (the swap never happened: the copy and the backup are stale) or it is the
 * encrypted one (verified before the swap; the backup goes once the key has opened it). Returns the file's state now.
 */
export function settleInterruptedEncryption(file: string, state: DatabaseFileState): DatabaseFileState {
  removeWithSidecars(file + ENCRYPTING_SUFFIX);
  const backup = file + PLAINTEXT_BACKUP_SUFFIX;
  if (!existsSync(backup)) return state;
  if (state === 'absent') {
    // Never start an empty history while a copy of the old one exists.
    renameSync(backup, file);
    return databaseFileState(file);
  }
  if (state === 'plaintext') rmSync(backup, { force: true });
  return state;
}

/** After the encrypted database has opened with its key, the plaintext copy kept for the migration goes. */
export function removePlaintextBackup(file: string): void {
  rmSync(file + PLAINTEXT_BACKUP_SUFFIX, { force: true });
}

function locked(file: string): AgentError {
  return new AgentError(
    'DATA_DIR_UNUSABLE',
    `The database ${file} is in use by another process, so it cannot be encrypted now. Close the other assistant and start again.`,
  );
}

/**
 * Encrypts a plaintext database once, so that a crash at any point leaves either the old or the new database usable:
 *
 * 1. the original leaves WAL mode (its -wal is checkpointed into it and removed) and is held with a write lock, so
 *    nothing changes it while it is copied; its rows are counted per table;
 * 2. a copy (`.encrypting`) is encrypted in place with `PRAGMA rekey` (SQLCipher 4 format, page size 4096);
 * 3. the copy is opened with the key: quick_check and every table's row count must match the original;
 * 4. a plaintext backup (`.plaintext-backup`) is made, then the copy is renamed over the original (atomic);
 * 5. the caller opens the new database with the key and then removes the backup (removePlaintextBackup).
 *
 * `onStep` is for tests: throwing from it stops the migration where a crash would.
 */
export function encryptPlaintextDatabase(
  file: string,
  key: DatabaseKey,
  options: { nativeBinding?: string | undefined; onStep?: (step: EncryptionStep) => void } = {},
): EncryptedMigration {
  const started = performance.now();
  const work = file + ENCRYPTING_SUFFIX;
  const backup = file + PLAINTEXT_BACKUP_SUFFIX;
  const { nativeBinding, onStep } = options;
  removeWithSidecars(work);
  let source: SqliteDatabase | undefined;
  try {
    source = openConnection(file, { nativeBinding });
    // Rekeying needs a rollback journal; leaving WAL also writes the -wal into the file. Refused while others have it open.
    if (source.pragma('journal_mode = DELETE', { simple: true }) !== 'delete') throw locked(file);
    source.exec('BEGIN IMMEDIATE');
    const counts = tableRowCounts(source);
    privateCopy(file, work);
    onStep?.('copied');

    const copy = openConnection(work, { nativeBinding });
    try {
      copy.pragma('temp_store = MEMORY');
      if (copy.pragma('page_size', { simple: true }) !== CIPHER_PAGE_SIZE) {
        copy.pragma(`page_size = ${CIPHER_PAGE_SIZE}`);
        copy.exec('VACUUM');
      }
      copy.pragma("cipher = 'sqlcipher'");
      copy.pragma('legacy = 4');
      copy.pragma(`rekey = "x'${key.bytes.toString('hex')}'"`);
    } finally {
      copy.close();
    }
    onStep?.('encrypted');

    verifyEncryptedCopy(work, key, counts, nativeBinding);
    onStep?.('verified');

    privateCopy(file, backup);
    fsyncFile(work);
    onStep?.('backed-up');
    source.exec('ROLLBACK');
    source.close();
    source = undefined;
    renameSync(work, file);
    syncDirectory(path.dirname(file));
    onStep?.('swapped');
    const rows = Object.values(counts).reduce((sum, n) => sum + n, 0);
    return { file, tables: Object.keys(counts).length, rows, ms: Math.round(performance.now() - started) };
  } finally {
    if (source?.open) {
      if (source.inTransaction) source.exec('ROLLBACK');
      source.close();
    }
  }
}

function verifyEncryptedCopy(work: string, key: DatabaseKey, counts: Record<string, number>, nativeBinding: string | undefined): void {
  const fail = (why: string) => {
    removeWithSidecars(work);
    return new AgentError('INTERNAL', `Encrypting the database failed its check (${why}); the plaintext database was left as it was.`);
  };
  if (databaseFileState(work) !== 'encrypted') throw fail('the copy is not encrypted');
  let check: SqliteDatabase | undefined;
  try {
    check = openConnection(work, { readonly: true, fileMustExist: true, nativeBinding, key: key.bytes });
    const result = check.pragma('quick_check', { simple: true });
    if (result !== 'ok') throw fail(`quick_check: ${String(result)}`);
    const after = tableRowCounts(check);
    if (!sameCounts(after, counts)) throw fail('the row counts differ');
  } catch (error) {
    if (error instanceof AgentError) throw error;
    throw fail((error as Error).message);
  } finally {
    check?.close();
  }
}
