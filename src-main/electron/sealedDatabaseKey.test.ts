import { chmodSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDataDir } from '../testing/agentTestSupport.js';
import { DatabaseKeyring } from '../agent/memory/databaseKey.node.js';
import { openSqliteDatabase } from '../agent/memory/sqliteDatabase.node.js';
import { ConversationStore } from '../agent/memory/conversationStore.node.js';
import { SEALED_KEY_FILE_NAME, sealedKeyStore, type SafeStorageLike } from './sealedDatabaseKey.main.js';

/** Electron's safeStorage, faked: "sealing" XORs with a byte only this fake keychain knows. */
function fakeSafeStorage(options: { available?: boolean; backend?: string; secret?: number } = {}): SafeStorageLike {
  const secret = options.secret ?? 0x5a;
  return {
    isEncryptionAvailable: () => options.available ?? true,
    getSelectedStorageBackend: () => options.backend ?? 'gnome_libsecret',
    encryptString: (text) => Buffer.from(Buffer.from(text, 'utf8').map((byte) => byte ^ secret)),
    decryptString: (sealed) => {
      const text = Buffer.from(sealed.map((byte) => byte ^ secret)).toString('utf8');
      if (!/^[0-9a-f]+$/.test(text)) throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
      return text;
    },
  };
}

describe("the app's database key, sealed by the system keychain (safeStorage)", () => {
  it('a new profile gets a random key, kept sealed (0600) in db-key.sealed and never in plaintext', () => {
    const dataDir = tempDataDir('sealed-key-');
    const { store } = sealedKeyStore(dataDir, fakeSafeStorage());
    const db = openSqliteDatabase(dataDir, { encrypt: true, keys: new DatabaseKeyring({ dataDir, env: {}, store: store! }) });
    new ConversationStore(db).createConversation('sealed');
    db.close();
    const sealedFile = path.join(dataDir, SEALED_KEY_FILE_NAME);
    expect(readdirSync(dataDir)).toContain(SEALED_KEY_FILE_NAME);
    expect(readdirSync(dataDir)).not.toContain('db-key');
    expect(statSync(sealedFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(sealedFile, 'latin1')).not.toMatch(/^[0-9a-f]{64}$/);

    // The next launch unseals the same key.
    const again = sealedKeyStore(dataDir, fakeSafeStorage()).store!;
    const reopened = openSqliteDatabase(dataDir, { keys: new DatabaseKeyring({ dataDir, env: {}, store: again }) });
    expect(new ConversationStore(reopened).listConversations().map((c) => c.title)).toEqual(['sealed']);
    reopened.close();
  });

  it('a key that another keychain cannot unseal gives DATABASE_KEY_INVALID, and the database is left as it is', () => {
    const dataDir = tempDataDir('sealed-other-');
    openSqliteDatabase(dataDir, { encrypt: true, keys: new DatabaseKeyring({ dataDir, env: {}, store: sealedKeyStore(dataDir, fakeSafeStorage()).store! }) }).close();
    const other = sealedKeyStore(dataDir, fakeSafeStorage({ secret: 0x33 })).store!;
    expect(() => openSqliteDatabase(dataDir, { keys: new DatabaseKeyring({ dataDir, env: {}, store: other }) })).toThrow(
      expect.objectContaining({ code: 'DATABASE_KEY_INVALID', message: expect.stringMatching(/could not be unsealed by the system keychain/) }),
    );
  });

  it('a sealed key readable by others is refused too', () => {
    const dataDir = tempDataDir('sealed-mode-');
    const store = sealedKeyStore(dataDir, fakeSafeStorage()).store!;
    openSqliteDatabase(dataDir, { encrypt: true, keys: new DatabaseKeyring({ dataDir, env: {}, store }) }).close();
    chmodSync(path.join(dataDir, SEALED_KEY_FILE_NAME), 0o640);
    expect(() => openSqliteDatabase(dataDir, { keys: new DatabaseKeyring({ dataDir, env: {}, store }) })).toThrow(/chmod 600/);
  });

  it('without a real keychain (none, or Linux basic_text) the 0600 key file is used instead, and says why', () => {
    const dataDir = tempDataDir('sealed-none-');
    expect(sealedKeyStore(dataDir, fakeSafeStorage({ available: false }))).toEqual({ unavailable: 'the system keychain is not available' });
    expect(sealedKeyStore(dataDir, fakeSafeStorage({ backend: 'basic_text' })).unavailable).toMatch(/no system keychain/);
  });
});
