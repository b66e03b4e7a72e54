import { chmodSync } from 'node:fs';
import { AgentError } from '../../../src-shared/contract/index.js';
import { checkDatabaseFile, databaseOpenError, databasePathOf, ensureDataDir } from './dataDirectory.node.js';
import { DatabaseKeyring, databaseKeyError, type DatabaseKey } from './databaseKey.node.js';
import { encryptPlaintextDatabase, removePlaintextBackup, settleInterruptedEncryption, type EncryptedMigration, type EncryptionStep } from './databaseEncryption.node.js';
import { migrations } from './migrations.js';
import { databaseFileState, openConnection, type SqliteDatabase } from './sqliteConnection.node.js';

export type { SqliteDatabase } from './sqliteConnection.node.js';

export interface SqliteOpenOptions {
  /** better-sqlite3-multiple-ciphers built for another ABI (Electron's); absent: the one in node_modules. */
  nativeBinding?: string | undefined;
  /**
   * Encrypt the profile's databases: a new one is created encrypted and a plaintext one is encrypted once (kept as a
   * backup until verified). Off: a plaintext database stays so; an encrypted one still opens with its key. A profile
   * that keeps a key (db-key, db-key.sealed) counts as on: encryption is never undone by leaving a setting out.
   */
  encrypt?: boolean | undefined;
  /** The profile's key; default: ASSISTANT_DB_KEY, then `<data dir>/db-key` (only for openSqliteDatabase, which knows the profile). */
  keys?: DatabaseKeyring | undefined;
  /** Told when a plaintext database was encrypted (for the audit log). */
  onEncrypted?: ((migration: EncryptedMigration) => void) | undefined;
  /** Tests: stops the migration at a step, as a crash would. */
  onEncryptionStep?: ((step: EncryptionStep) => void) | undefined;
}

/**
 * Opens (creating if needed) the profile's SQLite file in WAL mode and applies pending migrations. A data folder that
 * cannot be used throws DATA_DIR_UNUSABLE; a damaged database throws DATABASE_CORRUPT and is not modified (it is
 * checked read-only before anything writes to it); an encrypted one without its key throws DATABASE_KEY_INVALID and is
 * not modified either. The messages name the path and the fix.
 */
export function openSqliteDatabase(dataDir: string, options: SqliteOpenOptions = {}): SqliteDatabase {
  ensureDataDir(dataDir);
  return openSqliteFile(databasePathOf(dataDir), migrations, { ...options, keys: options.keys ?? new DatabaseKeyring({ dataDir }) });
}

export type Migration = { version: number; name: string; sql: string };

/**
 * Checks an existing database file read-only (quick_check) with its key when it is encrypted, so a damaged or wrongly
 * keyed file is reported and never written. Returns the key to open it with (undefined: plaintext or absent). Also
 * what `doctor` runs.
 */
export function checkProfileDatabaseFile(
  file: string,
  options: Pick<SqliteOpenOptions, 'nativeBinding' | 'keys' | 'encrypt'> = {},
  state = databaseFileState(file),
): DatabaseKey | undefined {
  const { nativeBinding, keys } = options;
  if (state === 'encrypted') {
    const key = keys?.find();
    if (key) {
      checkDatabaseFile(file, { nativeBinding, key });
      return key;
    }
    // Not a plaintext database and no key anywhere: encrypted with a key that is gone, or not a database at all. With
    // encryption on, say so (never "damaged": that would offer to move it aside); off, it is checked as before.
    if (options.encrypt === true || keys?.profileHasKey() === true) {
      throw databaseKeyError(
        `The database ${file} is encrypted (or is not a SQLite database) and there is no key to open it: looked in ${keys?.describe() ?? 'nowhere'}. ` +
          'It was left untouched. Give the key it was encrypted with (ASSISTANT_DB_KEY, or restore the key file).',
      );
    }
  }
  checkDatabaseFile(file, { nativeBinding });
  return undefined;
}

/**
 * How a database file is to be opened: checked first (checkProfileDatabaseFile), then, when it is to be encrypted and
 * is not yet, encrypted (or, when new, given a key).
 */
export function prepareDatabaseFile(file: string, options: SqliteOpenOptions = {}): { key: DatabaseKey | undefined; migration?: EncryptedMigration } {
  const { keys } = options;
  const state = settleInterruptedEncryption(file, databaseFileState(file));
  const existingKey = checkProfileDatabaseFile(file, options, state);
  if (existingKey) {
    keys?.noteEncryptedWith(existingKey);
    return { key: existingKey };
  }
  // Encrypted when asked, or when the profile says it was encrypted (its marker, written only once a database is
  // encrypted: a key file left by an attempt that failed, e.g. on a locked database, commits nothing).
  const encrypt = options.encrypt === true || keys?.profileIsEncrypted() === true;
  if (!encrypt) return { key: undefined };
  if (!keys) throw new AgentError('INTERNAL', `No keyring was given to encrypt ${file}.`);
  const key = keys.findOrCreate();
  if (state === 'absent') {
    keys.noteEncryptedWith(key);
    return { key };
  }
  const migration = encryptPlaintextDatabase(file, key, { nativeBinding: options.nativeBinding, onStep: options.onEncryptionStep });
  keys.noteEncryptedWith(key);
  return { key, migration };
}

/** Opens one SQLite file of the profile (its folder must exist) with the same checks, mode and pragmas, and applies its migrations. */
export function openSqliteFile(file: string, fileMigrations: readonly Migration[], options: SqliteOpenOptions = {}): SqliteDatabase {
  let db: SqliteDatabase | undefined;
  let key: DatabaseKey | undefined;
  try {
    const prepared = prepareDatabaseFile(file, options);
    key = prepared.key;
    db = openConnection(file, { nativeBinding: options.nativeBinding, key: key?.bytes });
    // Only the user may read the conversations; SQLite gives the -wal and -shm files the database file's mode.
    restrictToOwner(file);
    db.pragma('journal_mode = WAL');
    // NORMAL is durable against process crashes in WAL mode (only an OS crash can lose the last commits).
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    applyMigrations(db, fileMigrations);
    // The encrypted database has opened with its key: a plaintext copy left by its migration is no longer needed.
    if (key) removePlaintextBackup(file);
    if (prepared.migration) options.onEncrypted?.(prepared.migration);
    return db;
  } catch (error) {
    try {
      db?.close();
    } catch {
      // Already failing; the error below is the one that matters.
    }
    throw databaseOpenError(error, file, key);
  }
}

/** chmod 0600 the database and its -wal/-shm files when they exist (a profile from before this, too). */
function restrictToOwner(file: string): void {
  for (const each of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      chmodSync(each, 0o600);
    } catch {
      // Absent (no -wal yet), or not ours to change: opening goes on; SQLite reports what really matters.
    }
  }
}

export function applyMigrations(db: SqliteDatabase, fileMigrations: readonly Migration[] = migrations): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (const migration of fileMigrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    })();
  }
}
