import { chmodSync } from 'node:fs';
import Database from 'better-sqlite3';
import { checkDatabaseFile, databaseOpenError, databasePathOf, ensureDataDir } from './dataDirectory.node.js';
import { migrations } from './migrations.js';

export type SqliteDatabase = Database.Database;

/**
 * Opens (creating if needed) the profile's SQLite file in WAL mode and applies pending migrations. A data folder that
 * cannot be used throws DATA_DIR_UNUSABLE; a damaged database throws DATABASE_CORRUPT and is not modified (it is
 * checked read-only before anything writes to it). Both messages name the path and the fix.
 */
export function openSqliteDatabase(dataDir: string, nativeBinding?: string): SqliteDatabase {
  ensureDataDir(dataDir);
  return openSqliteFile(databasePathOf(dataDir), migrations, nativeBinding);
}

export type Migration = { version: number; name: string; sql: string };

/** Opens one SQLite file of the profile (its folder must exist) with the same checks, mode and pragmas, and applies its migrations. */
export function openSqliteFile(file: string, fileMigrations: readonly Migration[], nativeBinding?: string): SqliteDatabase {
  checkDatabaseFile(file, nativeBinding);
  let db: SqliteDatabase | undefined;
  try {
    db = new Database(file, { timeout: 5000, ...(nativeBinding && { nativeBinding }) });
    // Only the user may read the conversations; SQLite gives the -wal and -shm files the database file's mode.
    restrictToOwner(file);
    db.pragma('journal_mode = WAL');
    // NORMAL is durable against process crashes in WAL mode (only an OS crash can lose the last commits).
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    applyMigrations(db, fileMigrations);
    return db;
  } catch (error) {
    try {
      db?.close();
    } catch {
      // Already failing; the error below is the one that matters.
    }
    throw databaseOpenError(error, file);
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
