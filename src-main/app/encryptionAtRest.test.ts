import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentConfigOverrides } from '../agent/agentConfig.node.js';
import type { AgentEvent } from '../../src-shared/contract/index.js';
import { collectTurnEvents, TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';
import { createAgent, type Agent } from './createAgent.node.js';
import { filesContaining } from '../testing/dataDirScan.js';

/**
 * Encryption at rest with real turns: the real agent (stories260K through node-llama-cpp), a real document ingested
 * (Chroma and USE-lite, so questions are embedded and cached), the response cache, saved settings, logs. Afterwards no
 * file in the data folder (the databases, their -wal and -shm, logs, settings) may hold the question or the answer.
 */

const QUESTION = 'Zanzibar quokka 4417: what did the lighthouse keeper whisper to the tide?';
const DOCUMENT_PHRASE = 'The marmalade vault of Quillborough opens only at low tide';


/** Chroma's own store (a plaintext SQLite file of the document chunks it indexes) is not encrypted: see the README. */
const outsideChroma = (files: string[]) => files.filter((file) => !file.startsWith(path.join('documents', 'chroma')));

function agentOn(dataDir: string, encrypt: boolean): Agent {
  const config: AgentConfigOverrides = {
    dataDir,
    encryptDatabase: encrypt,
    maxAnswerTokens: 48,
    voice: { enabled: false },
    llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 },
  };
  return createAgent({ config });
}

async function ask(agent: Agent, text: string) {
  const turns = collectTurnEvents(agent);
  const started = await agent.call('chat:send', { text });
  const turn = await turns.forTurn(started.turnId);
  if (turn.error) throw new Error(`${turn.error.code}: ${turn.error.message}`);
  return turn.done!;
}

async function ingest(agent: Agent, folder: string): Promise<void> {
  const events: AgentEvent[] = [];
  const unsubscribe = agent.listen((event) => events.push(event));
  const { jobId } = await agent.call('docs:ingest', { paths: [folder] });
  await new Promise<void>((resolve) => {
    const check = () => (events.some((e) => e.type === 'docs-progress' && e.jobId === jobId && e.state === 'done') ? resolve() : setImmediate(check));
    check();
  });
  unsubscribe();
}

describe('encryption at rest with real turns', () => {
  const opened: Agent[] = [];
  afterAll(async () => {
    for (const agent of opened) await agent.close();
  });

  it('no file in the data folder holds the question or the answer: databases, -wal/-shm, cache, settings, logs, documents', async () => {
    const root = tempDataDir('encrypted-turns-');
    const dataDir = path.join(root, 'profile');
    const corpus = path.join(root, 'corpus');
    mkdirSync(corpus);
    writeFileSync(path.join(corpus, 'quillborough.md'), `# Quillborough\n\n${DOCUMENT_PHRASE}, when the lighthouse keeper rings the bell twice.\n`);
    const agent = agentOn(dataDir, true);
    opened.push(agent);
    await agent.whenReady();
    await ingest(agent, corpus);
    await agent.call('settings:set', { llmThreads: 1 });

    const first = await ask(agent, QUESTION);
    // The same question again: answered from the (encrypted) response cache, its embedding from the embedding cache.
    const second = await ask(agent, QUESTION);
    expect(second.text).toBe(first.text);
    const answer = first.text.trim().slice(0, 24);
    expect(answer.length).toBeGreaterThanOrEqual(12);
    const messages = await agent.call('conversations:messages', { id: first.conversationId });
    expect(messages.map((message) => message.text)).toContain(QUESTION);

    // While the agent runs (the newest pages are in the -wal files), and after it closed.
    const check = () => {
      expect(filesContaining(dataDir, QUESTION)).toEqual([]);
      expect(filesContaining(dataDir, 'lighthouse keeper whisper')).toEqual([]);
      expect(filesContaining(dataDir, answer)).toEqual([]);
      // The document's text: in the encrypted documents database, and in Chroma's own store (not encrypted).
      expect(outsideChroma(filesContaining(dataDir, DOCUMENT_PHRASE))).toEqual([]);
      expect(filesContaining(dataDir, 'SQLite format 3').filter((file) => !file.startsWith(path.join('documents', 'chroma')))).toEqual([]);
    };
    const files = readdirSync(dataDir, { recursive: true }).map(String);
    expect(files).toEqual(expect.arrayContaining(['assistant.sqlite3', 'assistant.sqlite3-wal', path.join('documents', 'documents.sqlite3'), 'db-key']));
    expect(files.some((file) => file.startsWith('logs'))).toBe(true);
    expect(files).not.toContain('settings.json');
    check();
    await agent.close();
    check();

    // Everything is there again at the next start (the key comes from the profile's key file).
    const again = agentOn(dataDir, false);
    opened.push(again);
    expect((await again.call('conversations:messages', { id: first.conversationId })).map((message) => message.text)).toContain(QUESTION);
    expect((await again.call('settings:get')).saved.llmThreads).toBe(1);
    await again.close();
  }, 180_000);

  it('a plaintext profile with real conversations and settings.json is encrypted at the next start with encryption on, and keeps them', async () => {
    const dataDir = tempDataDir('encrypt-real-migrate-');
    const plain = agentOn(dataDir, false);
    opened.push(plain);
    await plain.whenReady();
    const asked = [];
    for (let i = 0; i < 3; i++) asked.push(await ask(plain, `${QUESTION} (${i})`));
    await plain.call('settings:set', { llmThreads: 1 });
    await plain.close();
    expect(filesContaining(dataDir, QUESTION).sort()).toEqual(expect.arrayContaining(['assistant.sqlite3']));
    expect(existsSync(path.join(dataDir, 'settings.json'))).toBe(true);

    const encrypted = agentOn(dataDir, true);
    opened.push(encrypted);
    const conversations = await encrypted.call('conversations:list');
    expect(conversations).toHaveLength(3);
    for (const done of asked) {
      const texts = (await encrypted.call('conversations:messages', { id: done.conversationId })).map((message) => message.text);
      expect(texts).toEqual(expect.arrayContaining([expect.stringContaining(QUESTION), done.text]));
    }
    expect((await encrypted.call('settings:get')).saved.llmThreads).toBe(1);
    await encrypted.close();
    expect(filesContaining(dataDir, QUESTION)).toEqual([]);
    expect(existsSync(path.join(dataDir, 'settings.json'))).toBe(false);
    // The migration is in the audit log, with counts and no text.
    const logDir = path.join(dataDir, 'logs');
    const audit = readdirSync(logDir)
      .flatMap((name) => readFileSync(path.join(logDir, name), 'utf8').split('\n'))
      .filter((line) => line.includes('"audit":"database-encrypted"'));
    expect(audit).toHaveLength(1);
  }, 180_000);
});
