import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { AgentError } from '../../../src-shared/contract/index.js';

/** The profile's database key as a file of 64 hex digits, when neither ASSISTANT_DB_KEY nor the system keychain holds it. */
export const DATABASE_KEY_FILE_NAME = 'db-key';
/**
 * Left in a profile once its databases are encrypted (nothing secret in it, a sentence for whoever looks): without it,
 * a start without the key (ASSISTANT_DB_KEY not set, the key file lost or not restored from a backup) could not tell
 * the encrypted database from a damaged file, and would offer to move it aside.
 */
export const ENCRYPTED_MARKER_FILE_NAME = 'db-encrypted.txt';
/** The environment variable that gives the key (64 hex digits) instead of a file. */
export const DATABASE_KEY_ENV = 'ASSISTANT_DB_KEY';
/** SQLCipher's raw keys are 256 bits. */
export const DATABASE_KEY_BYTES = 32;

const HEX_KEY = /^[0-9a-fA-F]{64}$/;

export interface DatabaseKey {
  bytes: Buffer;
  /** Where it came from, for messages: never the key itself. */
  source: string;
}

/**
 * Somewhere a profile's key is kept: a 0600 file, or (in the Electron app) a file sealed by the system keychain through
 * safeStorage. `exists` reads nothing secret, so it can tell "this profile is encrypted" from "this file is damaged".
 */
export interface DatabaseKeyStore {
  /** What to name in messages: a path, or a path and how it is sealed. */
  readonly location: string;
  exists(): boolean;
  /** Throws DATABASE_KEY_INVALID (with the fix) when the key cannot be read or is not private. */
  read(): Buffer;
  /** A new random key, kept durably before it is returned (a database is only encrypted with a key that survives a crash). */
  create(): Buffer;
}

export function databaseKeyError(message: string): AgentError {
  return new AgentError('DATABASE_KEY_INVALID', message);
}

/** Creates `file` with `content`, readable by the user only, durably; throws EEXIST when it is there already. */
export function writePrivateFileOnce(file: string, content: string | Uint8Array): void {
  const fd = openSync(file, 'wx', 0o600);
  try {
    writeSync(fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  // The umask may have taken bits away, never added them; chmod says it outright.
  chmodSync(file, 0o600);
  syncDirectory(path.dirname(file));
}

/** Makes a new name in a folder durable (best effort: not every platform can open a folder). */
export function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Windows cannot fsync a folder; its renames are durable on their own terms.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Refuses a key file that other users could read: the key next to the database would protect nothing. */
export function assertPrivateFile(file: string): void {
  if (process.platform === 'win32') return; // Modes mean nothing there; the profile folder's ACL protects it.
  const info = statSync(file);
  if (!info.isFile()) throw databaseKeyError(`The database key ${file} is not a file.`);
  if ((info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
    throw databaseKeyError(
      `The database key ${file} can be read by other users (mode ${mode}), so it is not used. ` +
        `If only you should have it, run: chmod 600 '${file}' (and check that nobody copied it).`,
    );
  }
  if (typeof process.getuid === 'function' && info.uid !== process.getuid()) {
    throw databaseKeyError(`The database key ${file} belongs to another user (uid ${info.uid}), so it is not used.`);
  }
}

/** `<data dir>/db-key`: 64 hex digits, mode 0600, created when encryption is turned on and no key exists. */
export function keyFileStore(dataDir: string): DatabaseKeyStore {
  const file = path.join(path.resolve(dataDir), DATABASE_KEY_FILE_NAME);
  return {
    location: file,
    exists: () => existsSync(file),
    read() {
      assertPrivateFile(file);
      const text = readFileSync(file, 'utf8').trim();
      if (!HEX_KEY.test(text)) throw databaseKeyError(`The database key ${file} is damaged (it should hold 64 hex digits).`);
      return Buffer.from(text, 'hex');
    },
    create() {
      const bytes = randomBytes(DATABASE_KEY_BYTES);
      writePrivateFileOnce(file, `${bytes.toString('hex')}\n`);
      return bytes;
    },
  };
}

/** ASSISTANT_DB_KEY, when set. A bad value is refused without ever repeating it (it is a secret). */
export function keyFromEnv(env: NodeJS.ProcessEnv): Buffer | undefined {
  const raw = env[DATABASE_KEY_ENV];
  if (raw === undefined || raw === '') return undefined;
  if (!HEX_KEY.test(raw.trim())) {
    throw new AgentError(
      'INVALID_SETTING',
      `${DATABASE_KEY_ENV} must be 64 hex digits (a 256-bit key, e.g. from "openssl rand -hex 32"); the value given (${raw.length} characters) is not shown.`,
    );
  }
  return Buffer.from(raw.trim(), 'hex');
}

export interface DatabaseKeyringOptions {
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  /** Where a new key is kept (and looked for first): the Electron app's keychain-sealed file. Default: the 0600 key file. */
  store?: DatabaseKeyStore;
}

/**
 * The key of one profile's databases. Looked for in this order: ASSISTANT_DB_KEY, the given store (the app's sealed
 * key), the 0600 key file. A key that exists always wins over making one, so a profile encrypted by the CLI still opens
 * in the app. The key is read once and kept in memory for the profile's two databases.
 */
export class DatabaseKeyring {
  private readonly env: NodeJS.ProcessEnv;
  private readonly stores: DatabaseKeyStore[];
  private readonly marker: string;
  private cached: DatabaseKey | undefined;

  constructor(options: DatabaseKeyringOptions) {
    this.env = options.env ?? process.env;
    const file = keyFileStore(options.dataDir);
    this.stores = options.store ? [options.store, file] : [file];
    this.marker = path.join(path.resolve(options.dataDir), ENCRYPTED_MARKER_FILE_NAME);
  }

  /** Whether the profile is encrypted: it says so (the marker), or keeps a key (a key file, a sealed key). */
  profileHasKey(): boolean {
    return existsSync(this.marker) || this.stores.some((store) => store.exists());
  }

  /** Whether a database of the profile has been encrypted (its marker): it then stays encrypted whatever the setting. */
  profileIsEncrypted(): boolean {
    return existsSync(this.marker);
  }

  /** Called once a database is encrypted (or opened encrypted): leaves the marker (see ENCRYPTED_MARKER_FILE_NAME). */
  noteEncryptedWith(key: DatabaseKey): void {
    if (existsSync(this.marker)) return;
    try {
      writePrivateFileOnce(
        this.marker,
        `The databases in this folder are encrypted (SQLCipher 4). Their key was given by ${key.source === DATABASE_KEY_ENV ? DATABASE_KEY_ENV : path.basename(key.source.split(' ')[0]!)}; ` +
          'without it they cannot be read, and they are not damaged: do not move them aside.\n',
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }

  /** The key, or undefined when there is none anywhere. Throws DATABASE_KEY_INVALID when one exists but cannot be used. */
  find(): DatabaseKey | undefined {
    if (this.cached) return this.cached;
    const fromEnv = keyFromEnv(this.env);
    if (fromEnv) return (this.cached = { bytes: fromEnv, source: DATABASE_KEY_ENV });
    for (const store of this.stores) {
      if (store.exists()) return (this.cached = { bytes: store.read(), source: store.location });
    }
    return undefined;
  }

  /** The key, made (and kept in the first store) when there is none. */
  findOrCreate(): DatabaseKey {
    const found = this.find();
    if (found) return found;
    const store = this.stores[0]!;
    try {
      return (this.cached = { bytes: store.create(), source: store.location });
    } catch (error) {
      // Another process made it meanwhile: use that one.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return (this.cached = { bytes: store.read(), source: store.location });
      if (error instanceof AgentError) throw error;
      throw databaseKeyError(`Could not create the database key ${store.location} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`);
    }
  }

  /** Where the key is looked for, for the message that says it is missing. */
  describe(): string {
    return [`${DATABASE_KEY_ENV}`, ...this.stores.map((store) => store.location)].join(', ');
  }
}
