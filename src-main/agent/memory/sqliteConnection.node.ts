import { closeSync, openSync, readSync } from 'node:fs';
import Database from 'better-sqlite3-multiple-ciphers';

/**
 * The SQLite driver: better-sqlite3-multiple-ciphers (better-sqlite3 with SQLite3MultipleCiphers built in, MIT). It is
 * plain SQLite until a key is given, so one driver serves encrypted and plaintext profiles alike.
 */
export type SqliteDatabase = Database.Database;

/** SQLCipher 4's page size, fixed by its format (legacy=4); a plaintext database is brought to it before encryption. */
export const CIPHER_PAGE_SIZE = 4096;

const SQLITE_MAGIC = 'SQLite format 3\0';

export interface ConnectionOptions {
  readonly?: boolean;
  fileMustExist?: boolean;
  /** The addon built for another ABI (Electron's); absent: the one in node_modules. */
  nativeBinding?: string | undefined;
  /** The 32-byte raw key of an encrypted database. */
  key?: Buffer | undefined;
}

export function openConnection(file: string, options: ConnectionOptions = {}): SqliteDatabase {
  const db = new Database(file, {
    timeout: 5000,
    ...(options.readonly && { readonly: true }),
    ...(options.fileMustExist && { fileMustExist: true }),
    ...(options.nativeBinding && { nativeBinding: options.nativeBinding }),
  });
  if (options.key) {
    try {
      applyKey(db, options.key);
    } catch (error) {
      db.close();
      throw error;
    }
  }
  return db;
}

/**
 * SQLCipher 4's format (what Signal Desktop and the sqlcipher tool read: PBKDF2-free raw key, HMAC-SHA512 per page, a
 * random IV per page write), with the key given raw, so no key derivation runs at open. Temporary tables, indices and
 * VACUUM's scratch database stay in memory: SQLite3MultipleCiphers encrypts the database, its WAL and its journal, not
 * temporary files. Nothing reads or writes a page until the first statement, so this must come first.
 */
export function applyKey(db: SqliteDatabase, key: Buffer): void {
  if (key.length !== 32) throw new Error('A database key is 32 bytes.');
  db.pragma("cipher = 'sqlcipher'");
  db.pragma('legacy = 4');
  db.pragma(`key = "x'${key.toString('hex')}'"`);
  db.pragma('temp_store = MEMORY');
}

export type DatabaseFileState = 'absent' | 'plaintext' | 'encrypted';

/**
 * What is at `file`, from its first 16 bytes: nothing (or an empty file, which SQLite treats as a new database), a
 * plaintext SQLite database ("SQLite format 3"), or anything else: an encrypted database (its first bytes are a random
 * salt) or a file that is not a database at all, which only a key can tell apart.
 */
export function databaseFileState(file: string): DatabaseFileState {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw error;
  }
  try {
    const header = Buffer.alloc(16);
    const read = readSync(fd, header, 0, 16, 0);
    if (read === 0) return 'absent';
    return read === 16 && header.toString('latin1') === SQLITE_MAGIC ? 'plaintext' : 'encrypted';
  } finally {
    closeSync(fd);
  }
}

/** Rows in every table (FTS shadow tables included): what an encrypted copy must hold too. */
export function tableRowCounts(db: SqliteDatabase): Record<string, number> {
  const tables = db
    .prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
    .pluck()
    .all() as string[];
  const counts: Record<string, number> = {};
  for (const name of tables) {
    counts[name] = db.prepare(`SELECT count(*) FROM "${name.replace(/"/g, '""')}"`).pluck().get() as number;
  }
  return counts;
}
