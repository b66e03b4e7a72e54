import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConversationStore } from '../agent/memory/conversationStore.node.js';
import { openSqliteDatabase } from '../agent/memory/sqliteDatabase.node.js';
import { resolveAgentConfig } from '../agent/agentConfig.node.js';
import { createFileLogger } from '../app/fileLogger.node.js';
import { tempDataDir } from '../testing/agentTestSupport.js';
import { bufferIo } from '../testing/bufferIo.js';
import { cliBuilt } from '../testing/cliProcess.js';
import { runHistoryCommand } from './historyCommand.node.js';
import { runStatsCommand } from './statsCommand.node.js';

const mode = (file: string) => statSync(file).mode & 0o777;

describe('read-only commands', () => {
  it('history and stats on a folder that does not exist say there is nothing yet and create nothing', async () => {
    const dataDir = path.join(tempDataDir('cli-readonly-'), 'does-not-exist');
    const history = bufferIo();
    expect(await runHistoryCommand(['--data-dir', dataDir], history.io)).toBe(0);
    expect(history.out.stdout).toBe('No conversations yet.\n');
    const stats = bufferIo();
    expect(await runStatsCommand(['--data-dir', dataDir], stats.io)).toBe(0);
    expect(stats.out.stdout).toContain('No turns recorded yet');
    expect(existsSync(dataDir)).toBe(false);
  });

  it('resolves a relative data dir to an absolute path once', () => {
    expect(resolveAgentConfig({}, { ASSISTANT_DATA_DIR: 'rel/profile' }).dataDir).toBe(path.resolve('rel/profile'));
    expect(resolveAgentConfig({ dataDir: 'rel2' }, {}).dataDir).toBe(path.resolve('rel2'));
  });
});

describe('private profile files', () => {
  it('creates the data folder 0700 and the database (with -wal/-shm) and logs 0600', async () => {
    const dataDir = path.join(tempDataDir('cli-modes-'), 'profile');
    const db = openSqliteDatabase(dataDir);
    new ConversationStore(db).createConversation('secret');
    expect(mode(dataDir)).toBe(0o700);
    for (const name of readdirSync(dataDir).filter((file) => file.startsWith('assistant.sqlite3'))) {
      expect(mode(path.join(dataDir, name)), name).toBe(0o600);
    }
    expect(readdirSync(dataDir)).toContain('assistant.sqlite3-wal');
    db.close();

    const { logger, logDir, close } = createFileLogger({ dataDir });
    logger.info({}, 'hello');
    await close();
    expect(mode(logDir)).toBe(0o700);
    const logs = readdirSync(logDir).filter((file) => file.endsWith('.log'));
    expect(logs.length).toBeGreaterThan(0);
    for (const name of logs) expect(mode(path.join(logDir, name)), name).toBe(0o600);
  });
});

describe('history prints stored text safely', () => {
  it('escapes terminal control codes in the text output, not in --json', async () => {
    const dataDir = tempDataDir('cli-escape-');
    const db = openSqliteDatabase(dataDir);
    const store = new ConversationStore(db);
    const conversation = store.createConversation('\u001b[31mred title');
    store.addMessage(conversation.id, 't1', 'user', 'a\u001b[31mred\u0007\u009b question\n\tline two', 'complete');
    db.close();
    const list = bufferIo();
    await runHistoryCommand(['--data-dir', dataDir], list.io);
    expect(list.out.stdout).toContain('\\x1b[31mred title');
    const text = bufferIo();
    await runHistoryCommand([conversation.id, '--data-dir', dataDir], text.io);
    expect(text.out.stdout).toBe('> a\\x1b[31mred\\x07\\x9b question\n\tline two\n');
    expect(text.out.stdout).not.toMatch(/[\u001b\u0007\u009b]/);
    const json = bufferIo();
    await runHistoryCommand([conversation.id, '--json', '--data-dir', dataDir], json.io);
    expect(JSON.parse(json.out.stdout).messages[0].text).toBe('a\u001b[31mred\u0007\u009b question\n\tline two');
  });
});

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/assistant.js');

describe.skipIf(!cliBuilt)('a reader that stops early (spawned CLI, stdout closed)', () => {
  it('exits quietly with code 0, no error line', async () => {
    const dataDir = tempDataDir('cli-epipe-');
    const db = openSqliteDatabase(dataDir);
    const store = new ConversationStore(db);
    for (let i = 0; i < 3000; i++) store.createConversation(`conversation ${i} ${'x'.repeat(100)}`);
    db.close();
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [cli, 'history', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      // Like `| head -1`: read the first chunk, then close the pipe.
      child.stdout.once('data', () => child.stdout.destroy());
      const deadline = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`history did not exit. stderr: ${stderr}`));
      }, 30_000);
      child.on('close', (code) => {
        clearTimeout(deadline);
        resolve({ code, stderr });
      });
    });
    expect(result.stderr).not.toContain('EPIPE');
    expect(result.stderr).not.toContain('Error');
    expect(result.code).toBe(0);
  });
});
