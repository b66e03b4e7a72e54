import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_LLM_MODEL, tempDataDir } from '../src-main/testing/agentTestSupport.js';
import { startRangeFileServer, type RangeFileServer } from '../src-main/testing/rangeFileServer.node.js';
import { closedPort } from '../src-main/testing/closedPort.node.js';
import { runNodeScript } from '../src-main/testing/cliProcess.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const startScript = path.join(root, 'scripts/start.js');
/** Without a build, start.js would run `npm run build` first: too slow for a test. */
const built = existsSync(path.join(root, 'build/src-main/cli/assistantCli.node.js')) && existsSync(path.join(root, 'build/renderer/index.html'));
const BROWSER_URL = /Assistant UI \(browser mode\): http:\/\/127\.0\.0\.1:\d+\/\?token=/;
const STACK_FRAME = /^\s+at /m;


/** `npm start` as a user runs it, stopped (SIGTERM) once it prints the browser URL, or killed (with its children) at the deadline. */
function runStart(args: string[], env: NodeJS.ProcessEnv, deadlineMs = 60_000) {
  return runNodeScript(startScript, args, { env, deadlineMs, cwd: root, group: true, until: (stdout) => BROWSER_URL.test(stdout) });
}

describe.skipIf(!built)('npm start in a terminal (scripts/start.js, spawned)', () => {
  const work = tempDataDir('start-script-');
  let offlineEnv: NodeJS.ProcessEnv;
  let server: RangeFileServer;

  beforeAll(async () => {
    const closed = `http://127.0.0.1:${await closedPort()}`;
    offlineEnv = {
      // No Electron binary here, and its download cannot succeed: a mirror nobody listens on, an empty cache.
      ELECTRON_OVERRIDE_DIST_PATH: path.join(work, 'no-electron'),
      ELECTRON_MIRROR: `${closed}/`,
      electron_config_cache: path.join(work, 'electron-cache'),
      ASSISTANT_SKIP_ELECTRON_DOWNLOAD: '',
      ASSISTANT_BROWSER_MODE: '',
      ASSISTANT_PULL: '',
      ASSISTANT_VOICE: 'off',
      ASSISTANT_LLM_MODEL: '',
      ASSISTANT_LLM_PROVIDER: 'embedded',
      ASSISTANT_LLM_THREADS: '1',
      ASSISTANT_MODELS_DIR: path.join(work, 'models'),
      ASSISTANT_MODELS_MANIFEST: '',
      ASSISTANT_DEBUG: '',
      OLLAMA_HOST: closed,
    };
    const bytes = readFileSync(TEST_LLM_MODEL);
    server = await startRangeFileServer(bytes, 'stories.gguf');
    writeFileSync(
      path.join(work, 'manifest.json'),
      JSON.stringify([
        {
          id: 'test-chat',
          role: 'llm',
          file: 'llm/test-chat.gguf',
          url: server.url,
          sizeBytes: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
          license: 'MIT',
          description: 'stories260K, served by the test.',
          default: true,
        },
      ]),
    );
  });
  afterAll(() => server.close());

  it('without an Electron binary: one clear line, never a stack trace, then the UI in browser mode', async () => {
    const run = await runStart([], { ...offlineEnv, ASSISTANT_DATA_DIR: path.join(work, 'data-1') });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.timedOut, output).toBe(false);
    expect(run.stdout).toMatch(BROWSER_URL);
    expect(output).not.toMatch(STACK_FRAME);
    expect(output).not.toContain('TypeError');
    const electronLines = output.split('\n').filter((line) => /electron/i.test(line));
    expect(electronLines).toEqual([
      'No Electron app binary (it could not be downloaded: no connection to its download server); serving the same UI in browser mode instead: open the URL below.',
    ]);
    expect(run.code).toBe(0);
  });

  it('--pull downloads the missing default chat model in the terminal, with progress, before the UI opens', async () => {
    const modelsDir = path.join(work, 'models-pull');
    const run = await runStart(['--pull'], {
      ...offlineEnv,
      ASSISTANT_DATA_DIR: path.join(work, 'data-2'),
      ASSISTANT_MODELS_DIR: modelsDir,
      ASSISTANT_MODELS_MANIFEST: path.join(work, 'manifest.json'),
    });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.timedOut, output).toBe(false);
    expect(output).not.toMatch(STACK_FRAME);
    // The same progress as `assistant models pull` (one line per 10 % when not at a terminal), then the UI.
    expect(run.stderr).toContain('Downloading test-chat');
    expect(run.stderr).toContain('test-chat: 100%');
    expect(run.stdout).toContain(`Saved test-chat to ${path.join(modelsDir, 'llm', 'test-chat.gguf')} (sha256 verified).`);
    expect(run.stdout.indexOf('Saved test-chat')).toBeLessThan(run.stdout.search(BROWSER_URL));
    expect(statSync(path.join(modelsDir, 'llm', 'test-chat.gguf')).size).toBe(readFileSync(TEST_LLM_MODEL).length);
    expect(run.stderr).not.toContain('is not downloaded yet');
  });

  it('--pull offline: one short sentence (which file to copy where), no error paragraph, no empty folders, then the UI', async () => {
    const modelsDir = path.join(work, 'models-offline');
    const manifest = JSON.parse(readFileSync(path.join(work, 'manifest.json'), 'utf8')) as { url: string }[];
    const offlineManifest = path.join(work, 'manifest-offline.json');
    writeFileSync(offlineManifest, JSON.stringify([{ ...manifest[0], url: `${offlineEnv.OLLAMA_HOST}/stories.gguf` }]));
    const run = await runStart(['--pull'], {
      ...offlineEnv,
      ASSISTANT_DATA_DIR: path.join(work, 'data-3'),
      ASSISTANT_MODELS_DIR: modelsDir,
      ASSISTANT_MODELS_MANIFEST: offlineManifest,
    });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.timedOut, output).toBe(false);
    expect(output).not.toContain('DOWNLOAD_FAILED');
    expect(output).not.toContain('did not finish');
    expect(run.stdout).toContain(`No connection to download test-chat: copy test-chat.gguf to ${path.join(modelsDir, 'llm')}, or choose a model file in the app.`);
    expect(run.stdout).toMatch(BROWSER_URL);
    expect(existsSync(path.join(modelsDir, 'llm'))).toBe(false);
  });
});
