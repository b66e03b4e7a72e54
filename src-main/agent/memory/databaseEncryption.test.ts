import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentError, toErrorShape } from '../../../src-shared/contract/index.js';
import { tempDataDir } from '../../testing/agentTestSupport.js';
import { sha256OfFile as sha256 } from '../../testing/badDataDirs.js';
import { DocumentDatabase } from '../../documents/documentDatabase.node.js';
import { ConversationStore } from './conversationStore.node.js';
import { DATABASE_FILE_NAME } from './dataDirectory.node.js';
import { ENCRYPTING_SUFFIX, PLAINTEXT_BACKUP_SUFFIX, type EncryptionStep } from './databaseEncryption.node.js';
import { DATABASE_KEY_FILE_NAME, DatabaseKeyring, ENCRYPTED_MARKER_FILE_NAME } from './databaseKey.node.js';
import { openSqliteDatabase, type SqliteOpenOptions } from './sqliteDatabase.node.js';
import { openConnection } from './sqliteConnection.node.js';
import { filesContaining } from '../../testing/dataDirScan.js';

const SECRET = 'purple-giraffe-7731 asks about the quarterly medical results';
const mode = (file: string) => statSync(file).mode & 0o777;


function openError(dataDir: string, options: SqliteOpenOptions = {}): AgentError {
  try {
    openSqliteDatabase(dataDir, options).close();
  } catch (error) {
    expect(error).toBeInstanceOf(AgentError);
    return error as AgentError;
  }
  throw new Error('the database opened');
}

/** A profile's keyring without the test process's environment (ASSISTANT_DB_KEY there would change the outcome). */
const keyring = (dataDir: string, env: NodeJS.ProcessEnv = {}) => new DatabaseKeyring({ dataDir, env });
const encrypted = (dataDir: string, env: NodeJS.ProcessEnv = {}): SqliteOpenOptions => ({ encrypt: true, keys: keyring(dataDir, env) });

/** A plaintext profile (as before encryption) with `conversations` conversations of 3 messages each. */
function plaintextProfile(conversations = 20): { dataDir: string; file: string } {
  const dataDir = tempDataDir('encrypt-migrate-');
  const db = openSqliteDatabase(dataDir, { keys: keyring(dataDir) });
  const store = new ConversationStore(db);
  for (let i = 0; i < conversations; i++) {
    const { id } = store.createConversation(`Conversation ${i}`);
    store.addMessage(id, `t${i}`, 'user', `${SECRET} #${i}`, 'complete');
    store.addMessage(id, `t${i}`, 'assistant', `Answer ${i}: once upon a time`, 'complete');
    store.addMessage(id, `u${i}`, 'user', `follow-up ${i}`, 'interrupted');
  }
  db.close();
  return { dataDir, file: path.join(dataDir, DATABASE_FILE_NAME) };
}

function allMessages(db: ReturnType<typeof openSqliteDatabase>) {
  return db.prepare('SELECT conversation_id, turn_id, role, text, status FROM messages ORDER BY id').all();
}

describe('databases encrypted at rest (SQLCipher 4 through better-sqlite3-multiple-ciphers)', () => {
  it('a new profile with encryption on: a 0600 key file, no plaintext in the database, its -wal or -shm', () => {
    const dataDir = tempDataDir('encrypt-new-');
    const db = openSqliteDatabase(dataDir, encrypted(dataDir));
    const store = new ConversationStore(db);
    const { id } = store.createConversation('Private');
    store.addMessage(id, 't1', 'user', SECRET, 'complete');
    // While open: the rows are in the WAL, not yet in the database file.
    expect(readdirSync(dataDir)).toEqual(expect.arrayContaining([DATABASE_FILE_NAME, `${DATABASE_FILE_NAME}-wal`, `${DATABASE_FILE_NAME}-shm`]));
    expect(filesContaining(dataDir, SECRET)).toEqual([]);
    expect(filesContaining(dataDir, 'SQLite format 3')).toEqual([]);
    db.close();
    expect(filesContaining(dataDir, SECRET)).toEqual([]);
    const keyFile = path.join(dataDir, DATABASE_KEY_FILE_NAME);
    expect(mode(keyFile)).toBe(0o600);
    expect(readFileSync(keyFile, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);

    // A profile that keeps a key stays encrypted without the setting (the CLI's default is off).
    const reopened = openSqliteDatabase(dataDir, { keys: keyring(dataDir) });
    expect(new ConversationStore(reopened).listMessages(id).map((message) => message.text)).toEqual([SECRET]);
    expect(reopened.pragma('cipher', { simple: true })).toBe('sqlcipher');
    reopened.close();
  });

  it('encryption off (the CLI default) is unchanged: a plaintext SQLite file and no key file', () => {
    const dataDir = tempDataDir('encrypt-off-');
    const db = openSqliteDatabase(dataDir, { keys: keyring(dataDir) });
    new ConversationStore(db).createConversation(SECRET);
    db.close();
    expect(readFileSync(path.join(dataDir, DATABASE_FILE_NAME)).subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');
    expect(readdirSync(dataDir)).toEqual([DATABASE_FILE_NAME]);
  });

  it('an attempt to encrypt that failed (the database was in use) commits nothing: the next plain start leaves it plaintext', () => {
    const { dataDir, file } = plaintextProfile(3);
    // Another process holds a write lock, as a running app would mid-write.
    const holder = openConnection(file, {});
    holder.exec('BEGIN EXCLUSIVE');
    try {
      expect(() => openSqliteDatabase(dataDir, encrypted(dataDir))).toThrow();
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect(existsSync(path.join(dataDir, ENCRYPTED_MARKER_FILE_NAME))).toBe(false);
    // A later start without encryption (history, a plain chat) opens it as it is: plaintext, with its conversations.
    const db = openSqliteDatabase(dataDir, { keys: keyring(dataDir) });
    expect(new ConversationStore(db).listConversations()).toHaveLength(3);
    db.close();
    expect(readFileSync(file).subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');
  });

  it('a plaintext profile is encrypted once and keeps every conversation; no plaintext copy is left', () => {
    const { dataDir, file } = plaintextProfile(50);
    const plain = openConnection(file, { readonly: true });
    const before = allMessages(plain);
    plain.close();
    expect(filesContaining(dataDir, SECRET)).toEqual([DATABASE_FILE_NAME]);

    const migrations: unknown[] = [];
    const db = openSqliteDatabase(dataDir, { ...encrypted(dataDir), onEncrypted: (migration) => migrations.push(migration) });
    expect(allMessages(db)).toEqual(before);
    expect(new ConversationStore(db).listConversations()).toHaveLength(50);
    db.close();
    expect(migrations).toEqual([expect.objectContaining({ file, rows: expect.any(Number) })]);
    expect(filesContaining(dataDir, SECRET)).toEqual([]);
    expect(readdirSync(dataDir).sort()).toEqual([DATABASE_FILE_NAME, DATABASE_KEY_FILE_NAME, ENCRYPTED_MARKER_FILE_NAME].sort());
    expect(mode(file)).toBe(0o600);

    // Once: opening again does not migrate again.
    openSqliteDatabase(dataDir, { ...encrypted(dataDir), onEncrypted: (migration) => migrations.push(migration) }).close();
    expect(migrations).toHaveLength(1);
  });

  it.each<EncryptionStep>(['copied', 'encrypted', 'verified', 'backed-up', 'swapped'])(
    'a crash after "%s" leaves a usable database, and the next start finishes with every conversation',
    (step) => {
      const { dataDir, file } = plaintextProfile(30);
      const plain = openConnection(file, { readonly: true });
      const before = allMessages(plain);
      plain.close();
      const crash = new Error(`crash after ${step}`);
      expect(() =>
        openSqliteDatabase(dataDir, {
          ...encrypted(dataDir),
          onEncryptionStep: (reached) => {
            if (reached === step) throw crash;
          },
        }),
      ).toThrow(crash.message);

      // Right after the crash: the database file is the old one or the new one, whole either way.
      const header = readFileSync(file).subarray(0, 16).toString('latin1');
      const key = keyring(dataDir).find()!.bytes;
      const survivor = openConnection(file, { readonly: true, ...(header !== 'SQLite format 3\0' && { key }) });
      expect(survivor.pragma('quick_check', { simple: true })).toBe('ok');
      expect(allMessages(survivor)).toEqual(before);
      survivor.close();
      expect(header === 'SQLite format 3\0').toBe(step !== 'swapped');

      // The next start settles what was left and ends encrypted, with everything.
      const db = openSqliteDatabase(dataDir, encrypted(dataDir));
      expect(allMessages(db)).toEqual(before);
      db.close();
      expect(readdirSync(dataDir).sort()).toEqual([DATABASE_FILE_NAME, DATABASE_KEY_FILE_NAME, ENCRYPTED_MARKER_FILE_NAME].sort());
      expect(filesContaining(dataDir, SECRET)).toEqual([]);
    },
  );

  it('a plaintext backup whose database vanished is put back, not replaced by an empty history', () => {
    const { dataDir, file } = plaintextProfile(5);
    expect(() =>
      openSqliteDatabase(dataDir, {
        ...encrypted(dataDir),
        onEncryptionStep: (step) => {
          if (step === 'backed-up') throw new Error('crash');
        },
      }),
    ).toThrow('crash');
    unlinkSync(file);
    expect(existsSync(file + PLAINTEXT_BACKUP_SUFFIX)).toBe(true);
    const db = openSqliteDatabase(dataDir, encrypted(dataDir));
    expect(new ConversationStore(db).listConversations()).toHaveLength(5);
    db.close();
    expect(existsSync(file + PLAINTEXT_BACKUP_SUFFIX) || existsSync(file + ENCRYPTING_SUFFIX)).toBe(false);
  });

  describe('a wrong or missing key: a clear error, and the file untouched (never moved aside as damaged)', () => {
    function encryptedProfile(): { dataDir: string; file: string; key: string } {
      const { dataDir, file } = plaintextProfile(3);
      openSqliteDatabase(dataDir, encrypted(dataDir)).close();
      return { dataDir, file, key: readFileSync(path.join(dataDir, DATABASE_KEY_FILE_NAME), 'utf8').trim() };
    }

    it('a wrong ASSISTANT_DB_KEY', () => {
      const { dataDir, file } = encryptedProfile();
      const before = sha256(file);
      const listing = readdirSync(dataDir).sort();
      const error = openError(dataDir, encrypted(dataDir, { ASSISTANT_DB_KEY: randomBytes(32).toString('hex') }));
      expect(toErrorShape(error)).toMatchObject({ code: 'DATABASE_KEY_INVALID', message: expect.stringContaining(file) });
      expect(error.message).toContain('ASSISTANT_DB_KEY');
      expect(error.message).not.toMatch(/file is not a database|damaged \(|doctor --fix/);
      expect(sha256(file)).toBe(before);
      expect(readdirSync(dataDir).sort()).toEqual(listing);
    });

    it('the right key in ASSISTANT_DB_KEY opens it (the key file is not needed)', () => {
      const { dataDir, key } = encryptedProfile();
      unlinkSync(path.join(dataDir, DATABASE_KEY_FILE_NAME));
      const db = openSqliteDatabase(dataDir, encrypted(dataDir, { ASSISTANT_DB_KEY: key }));
      expect(new ConversationStore(db).listConversations()).toHaveLength(3);
      db.close();
    });

    it.each([true, false])('the key file lost (encryption setting %s): not "damaged", whatever the setting says', (encrypt) => {
      const { dataDir, file } = encryptedProfile();
      unlinkSync(path.join(dataDir, DATABASE_KEY_FILE_NAME));
      const before = sha256(file);
      const error = openError(dataDir, { encrypt, keys: keyring(dataDir) });
      expect(error.code).toBe('DATABASE_KEY_INVALID');
      expect(error.message).toMatch(/no key to open it/);
      expect(sha256(file)).toBe(before);
      expect(readdirSync(dataDir).sort()).toEqual([DATABASE_FILE_NAME, ENCRYPTED_MARKER_FILE_NAME].sort());
    });

    it('a profile encrypted with ASSISTANT_DB_KEY alone, started later without it and with encryption off', () => {
      const dataDir = tempDataDir('encrypt-envonly-');
      const env = { ASSISTANT_DB_KEY: randomBytes(32).toString('hex') };
      const db = openSqliteDatabase(dataDir, encrypted(dataDir, env));
      new ConversationStore(db).createConversation(SECRET);
      db.close();
      expect(readdirSync(dataDir)).not.toContain(DATABASE_KEY_FILE_NAME);
      expect(readFileSync(path.join(dataDir, ENCRYPTED_MARKER_FILE_NAME), 'utf8')).toMatch(/encrypted \(SQLCipher 4\).*ASSISTANT_DB_KEY/);
      const file = path.join(dataDir, DATABASE_FILE_NAME);
      const before = sha256(file);
      // Not "damaged, run doctor --fix": the profile says it is encrypted.
      const error = openError(dataDir, { keys: keyring(dataDir) });
      expect(error.code).toBe('DATABASE_KEY_INVALID');
      expect(sha256(file)).toBe(before);
    });

    it('a key file other users can read (0644) is refused, saying how to fix it', () => {
      const { dataDir, file } = encryptedProfile();
      const keyFile = path.join(dataDir, DATABASE_KEY_FILE_NAME);
      chmodSync(keyFile, 0o644);
      const before = sha256(file);
      const error = openError(dataDir, { keys: keyring(dataDir) });
      expect(error.code).toBe('DATABASE_KEY_INVALID');
      expect(error.message).toContain(`chmod 600 '${keyFile}'`);
      expect(error.message).toContain('0644');
      expect(sha256(file)).toBe(before);
      chmodSync(keyFile, 0o600);
      openSqliteDatabase(dataDir, { keys: keyring(dataDir) }).close();
    });

    it('a bad ASSISTANT_DB_KEY is refused without repeating it', () => {
      const dataDir = tempDataDir('encrypt-badenv-');
      const error = openError(dataDir, encrypted(dataDir, { ASSISTANT_DB_KEY: 'hunter2-not-hex' }));
      expect(error.code).toBe('INVALID_SETTING');
      expect(error.message).toContain('64 hex digits');
      expect(error.message).not.toContain('hunter2');
      expect(readdirSync(dataDir)).toEqual([]);
    });
  });

  it('a damaged page of an encrypted database (the key is right) is reported as damaged, as in a plaintext one', () => {
    const { dataDir, file } = plaintextProfile(200);
    openSqliteDatabase(dataDir, encrypted(dataDir)).close();
    const bytes = readFileSync(file);
    for (let i = 3 * 4096 + 64; i < 3 * 4096 + 256; i++) bytes[i]! ^= 0xff;
    writeFileSync(file, bytes);
    const error = openError(dataDir, { keys: keyring(dataDir) });
    expect(error.code).toBe('DATABASE_CORRUPT');
  });

  it("the documents database (chunks, the questions' embedding cache) is encrypted with the same key", () => {
    const dataDir = tempDataDir('encrypt-docs-');
    const keys = keyring(dataDir);
    const documents = new DocumentDatabase(dataDir, { encrypt: true, keys });
    documents.db.exec(`CREATE TABLE IF NOT EXISTS probe (text TEXT); INSERT INTO probe VALUES ('${SECRET}')`);
    documents.close();
    expect(filesContaining(dataDir, SECRET)).toEqual([]);
    const again = new DocumentDatabase(dataDir);
    expect(again.db.prepare('SELECT text FROM probe').pluck().get()).toBe(SECRET);
    again.close();
  });
});
