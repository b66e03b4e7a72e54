import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentError, toErrorShape } from '../../../src-shared/contract/index.js';
import { tempDataDir } from '../../testing/agentTestSupport.js';
import { sha256OfFile as sha256, writeDamagedBodyDatabase, writeRandomBytesDatabase } from '../../testing/badDataDirs.js';
import { DATABASE_FILE_NAME, moveDatabaseAside } from './dataDirectory.node.js';
import { openSqliteDatabase } from './sqliteDatabase.node.js';

function openError(dataDir: string): AgentError {
  try {
    openSqliteDatabase(dataDir).close();
  } catch (error) {
    expect(error).toBeInstanceOf(AgentError);
    return error as AgentError;
  }
  throw new Error(`openSqliteDatabase(${dataDir}) did not fail`);
}

describe('opening the data folder and the database', () => {
  it('a data folder whose parent is a file fails with DATA_DIR_UNUSABLE naming the file', () => {
    const root = tempDataDir();
    const file = path.join(root, 'not-a-folder');
    writeFileSync(file, 'x');
    const error = openError(path.join(file, 'data'));
    expect(error.code).toBe('DATA_DIR_UNUSABLE');
    expect(error.message).toContain(`${file} is a file, not a folder`);
    expect(error.message).toMatch(/--data-dir|ASSISTANT_DATA_DIR/);
  });

  it('a data folder that is itself a file fails with DATA_DIR_UNUSABLE', () => {
    const file = path.join(tempDataDir(), 'data');
    writeFileSync(file, 'x');
    const error = openError(file);
    expect(error.code).toBe('DATA_DIR_UNUSABLE');
    expect(error.message).toContain(`${file} is a file, not a folder`);
  });

  it('a data folder under /sys fails with DATA_DIR_UNUSABLE and creates nothing', () => {
    const error = openError('/sys/assistant-test-data');
    expect(error.code).toBe('DATA_DIR_UNUSABLE');
    expect(error.message).toContain('/sys/assistant-test-data');
    expect(existsSync('/sys/assistant-test-data')).toBe(false);
  });

  it('creates missing folders one by one', () => {
    const dataDir = path.join(tempDataDir(), 'a', 'b', 'c');
    openSqliteDatabase(dataDir).close();
    expect(existsSync(path.join(dataDir, DATABASE_FILE_NAME))).toBe(true);
  });

  it.each([
    ['random bytes', writeRandomBytesDatabase, /file is not a database/],
    ['a SQLite header with a random body', writeDamagedBodyDatabase, /malformed|corrupt|not a database/i],
  ])('a database of %s fails with DATABASE_CORRUPT, offers doctor --fix, and is not touched', (_name, write, reason) => {
    const dataDir = tempDataDir();
    const file = write(dataDir);
    const before = sha256(file);
    const error = openError(dataDir);
    expect(toErrorShape(error)).toMatchObject({ code: 'DATABASE_CORRUPT', message: expect.stringContaining(file) });
    expect(error.message).toMatch(reason);
    expect(error.message).toContain(`assistant doctor --fix --data-dir ${dataDir}`);
    // Not modified, and no journal or WAL was created next to it.
    expect(sha256(file)).toBe(before);
    expect(readdirSync(dataDir)).toEqual([DATABASE_FILE_NAME]);
  });

  it('moves a damaged database and its -wal/-shm aside, never overwriting, and a fresh one opens afterwards', () => {
    const dataDir = tempDataDir();
    const file = writeDamagedBodyDatabase(dataDir);
    const before = sha256(file);
    writeFileSync(`${file}-wal`, 'wal');
    writeFileSync(`${file}-shm`, 'shm');
    const now = new Date('2026-01-02T03:04:05.678Z');
    // Something already has the name the move would pick: it must be kept, and another name used.
    writeFileSync(`${file}.corrupt-2026-01-02T03-04-05-678Z`, 'earlier');

    const moved = moveDatabaseAside(dataDir, now);

    expect(moved.movedTo).toBe(`${file}.corrupt-2026-01-02T03-04-05-678Z-2`);
    expect(sha256(moved.movedTo)).toBe(before);
    expect(readFileSync(`${moved.movedTo}-wal`, 'utf8')).toBe('wal');
    expect(readFileSync(`${moved.movedTo}-shm`, 'utf8')).toBe('shm');
    expect(readFileSync(`${file}.corrupt-2026-01-02T03-04-05-678Z`, 'utf8')).toBe('earlier');
    expect(existsSync(file) || existsSync(`${file}-wal`) || existsSync(`${file}-shm`)).toBe(false);

    const db = openSqliteDatabase(dataDir);
    expect(db.pragma('quick_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('a healthy database with thousands of messages still opens (quick_check at open passes)', () => {
    const dataDir = tempDataDir();
    const db = openSqliteDatabase(dataDir);
    db.prepare('INSERT INTO conversations VALUES (?, ?, ?, ?)').run('c1', 'Title', 1, 1);
    const insert = db.prepare(
      `INSERT INTO messages (conversation_id, turn_id, role, text, status, created_at) VALUES ('c1', ?, 'user', ?, 'complete', 1)`,
    );
    db.transaction(() => {
      for (let i = 0; i < 3000; i++) insert.run(`t${i}`, 'Once upon a time there was a little fox. '.repeat(5));
    })();
    db.close();
    const reopened = openSqliteDatabase(dataDir);
    expect(reopened.prepare('SELECT count(*) AS n FROM messages').get()).toEqual({ n: 3000 });
    reopened.close();
  });
});
