import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { assertPrivateFile, DATABASE_KEY_BYTES, databaseKeyError, writePrivateFileOnce, type DatabaseKeyStore } from '../agent/memory/databaseKey.node.js';

/** The database key sealed by the system keychain (Electron's safeStorage), in the data dir. */
export const SEALED_KEY_FILE_NAME = 'db-key.sealed';

/** The part of Electron's `safeStorage` this needs (a fake in tests: there is no Electron binary to run). */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /** Linux only: which secret store seals it; `basic_text` is a fixed password, which protects nothing. */
  getSelectedStorageBackend?(): string;
}

/**
 * Where the app keeps its database key, as Signal Desktop does: a random 32-byte key, sealed with safeStorage
 * (Keychain on macOS, DPAPI on Windows, the Secret Service or KWallet on Linux) in `<data dir>/db-key.sealed`. Returns
 * undefined, with the reason, when the system has no real keychain: the agent then uses its 0600 key file instead,
 * which protects as much as a file sealed with a fixed password would.
 */
export function sealedKeyStore(dataDir: string, safeStorage: SafeStorageLike): { store?: DatabaseKeyStore; unavailable?: string } {
  const file = path.join(path.resolve(dataDir), SEALED_KEY_FILE_NAME);
  const backend = safeStorage.getSelectedStorageBackend?.();
  // A key sealed earlier is used whatever the system says now: it either unseals, or says why not.
  const sealedBefore = existsSync(file);
  if (!sealedBefore && !safeStorage.isEncryptionAvailable()) return { unavailable: 'the system keychain is not available' };
  if (!sealedBefore && backend === 'basic_text') return { unavailable: 'no system keychain (Secret Service or KWallet) is running' };
  const location = `${file} (sealed by the system keychain)`;
  return {
    store: {
      location,
      exists: () => existsSync(file),
      read() {
        assertPrivateFile(file);
        let hex: string;
        try {
          hex = safeStorage.decryptString(readFileSync(file)).trim();
        } catch (error) {
          throw databaseKeyError(
            `The database key ${file} could not be unsealed by the system keychain (${(error as Error).message}). ` +
              'It is sealed for this user on this computer; unlock the keychain, or start with ASSISTANT_DB_KEY.',
          );
        }
        if (!/^[0-9a-f]{64}$/i.test(hex)) throw databaseKeyError(`The database key ${file} is damaged (it does not unseal to a key).`);
        return Buffer.from(hex, 'hex');
      },
      create() {
        const bytes = randomBytes(DATABASE_KEY_BYTES);
        writePrivateFileOnce(file, safeStorage.encryptString(bytes.toString('hex')));
        return bytes;
      },
    },
  };
}
