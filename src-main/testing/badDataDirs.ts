import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';
import { tempDataDir } from './agentTestSupport.js';

const DATABASE_FILE_NAME = 'assistant.sqlite3';

export const sha256OfFile = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A database file of random bytes: not SQLite at all. Returns its path. */
export function writeRandomBytesDatabase(dataDir: string): string {
  const file = path.join(dataDir, DATABASE_FILE_NAME);
  writeFileSync(file, randomBytes(64 * 1024));
  return file;
}

/** A real SQLite header (taken from a real database) followed by a random body: looks like SQLite, is damaged. */
export function writeDamagedBodyDatabase(dataDir: string): string {
  const scratch = tempDataDir('assistant-header-');
  const real = new Database(path.join(scratch, 'real.sqlite3'));
  real.exec("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('hello');");
  real.close();
  const header = readFileSync(path.join(scratch, 'real.sqlite3')).subarray(0, 100);
  if (header.subarray(0, 16).toString('latin1') !== 'SQLite format 3\0') throw new Error('not a SQLite header');
  const file = path.join(dataDir, DATABASE_FILE_NAME);
  writeFileSync(file, Buffer.concat([header, randomBytes(4 * 4096 - 100)]));
  return file;
}
