import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadModelManifest } from '../models/modelManifest.node.js';
import { runModelsCommand, type CommandOutput } from './modelsCommand.node.js';
import { sharedModelsDir } from '../models/projectPaths.node.js';
import { startRangeFileServer, type RangeFileServer } from '../testing/rangeFileServer.node.js';

const stories = loadModelManifest().find((entry) => entry.id === 'stories260k')!;
const storiesBytes = readFileSync(path.join(sharedModelsDir(), stories.file));

class CapturedOutput implements CommandOutput {
  text = '';
  constructor(readonly isTTY = false) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

function run(args: string[], options: Parameters<typeof runModelsCommand>[2] = {}, tty = false) {
  const io = { stdout: new CapturedOutput(), stderr: new CapturedOutput(tty) };
  return runModelsCommand(args, io, { env: {}, ...options }).then((code) => ({ code, stdout: io.stdout.text, stderr: io.stderr.text }));
}

let server: RangeFileServer;
let modelsDir: string;

beforeAll(async () => {
  server = await startRangeFileServer(storiesBytes, 'stories260K.gguf');
});
afterAll(() => server.close());

beforeEach(() => {
  modelsDir = mkdtempSync(path.join(tmpdir(), 'models-command-'));
  server.behaviour = {};
  server.requests.length = 0;
});
afterEach(() => rmSync(modelsDir, { recursive: true, force: true }));

describe('assistant models pull', () => {
  it('downloads stories260k from --url into --models-dir and verifies it', async () => {
    const result = await run(['pull', 'stories260k', '--url', server.url, '--models-dir', modelsDir]);

    const saved = path.join(modelsDir, 'llm', 'stories260K.gguf');
    expect(result.code).toBe(0);
    expect(createHash('sha256').update(readFileSync(saved)).digest('hex')).toBe(stories.sha256);
    expect(result.stdout).toContain(`Saved stories260k to ${saved} (sha256 verified)`);
    // Not a terminal: plain percentage lines, ending at 100 %.
    expect(result.stderr).toMatch(/stories260k: 0% /);
    expect(result.stderr.trimEnd().split('\n').at(-1)).toMatch(/^stories260k: 100% \(1\.1 MiB of 1\.1 MiB/);
    expect(existsSync(`${saved}.partial`)).toBe(false);

    const again = await run(['pull', 'stories260k', '--url', server.url, '--models-dir', modelsDir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already present and verified');
    expect(server.requests).toHaveLength(1);
  });

  it('resumes an interrupted pull when run again', async () => {
    server.behaviour.dropAfterBytes = 600_000;
    const first = await run(['pull', 'stories260k', '--url', server.url, '--models-dir', modelsDir]);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('DOWNLOAD_FAILED');
    expect(first.stderr).toContain(`npx assistant models pull stories260k --models-dir ${modelsDir}`);

    server.behaviour = {};
    const second = await run(['pull', 'stories260k', '--url', server.url, '--models-dir', modelsDir]);
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/Resumed from \d/);
    expect(server.requests[1]?.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(readFileSync(path.join(modelsDir, stories.file)).equals(storiesBytes)).toBe(true);
  });

  it('draws a progress bar on a terminal', async () => {
    const result = await run(['pull', 'stories260k', '--url', server.url, '--models-dir', modelsDir], {}, true);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('stories260k [');
    expect(result.stderr).toContain('100%');
  });

  it('fails with exit code 1 and installs nothing when the bytes do not match the checksum', async () => {
    const impostor = await startRangeFileServer(Buffer.alloc(storiesBytes.length, 7), 'stories260K.gguf');
    try {
      const result = await run(['pull', 'stories260k', '--url', impostor.url, '--models-dir', modelsDir]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('CHECKSUM_MISMATCH');
      expect(result.stderr).toContain(stories.sha256!);
      expect(existsSync(path.join(modelsDir, stories.file))).toBe(false);
      expect(existsSync(path.join(modelsDir, `${stories.file}.rejected`))).toBe(true);
    } finally {
      await impostor.close();
    }
  });

  it('rejects an unknown model id', async () => {
    const result = await run(['pull', 'nonexistent', '--models-dir', modelsDir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Unknown model "nonexistent"');
  });
});

describe('assistant models path', () => {
  it('prints the resolved path', async () => {
    await run(['pull', 'stories260k', '--url', server.url, '--models-dir', modelsDir]);
    const result = await run(['path', 'stories260k', '--models-dir', modelsDir]);
    expect(result).toEqual({ code: 0, stdout: `${path.join(modelsDir, 'llm', 'stories260K.gguf')}\n`, stderr: '' });
  });

  it('exits 1 with the places looked and the fix when the model is missing', async () => {
    const result = await run(['path', 'whisper-tiny-en'], { projectRoot: path.join(modelsDir, 'project') });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(path.join(modelsDir, 'project', 'models', 'whisper', 'ggml-tiny.en.bin'));
    expect(result.stderr).toContain('npx assistant models pull whisper-tiny-en');
  });
});

describe('assistant models list', () => {
  it('shows every model with its status and the command for a missing default', async () => {
    const result = await run(['list', '--models-dir', modelsDir], { projectRoot: path.join(modelsDir, 'project') });
    expect(result.code).toBe(0);
    for (const id of ['qwen2.5-0.5b-instruct', 'stories260k', 'whisper-tiny-en', 'whisper-base-en', 'silero-vad']) {
      expect(result.stdout).toContain(id);
    }
    expect(result.stdout).toMatch(/whisper-base-en\s+stt-whisper\s+default\s+141 MiB\s+missing/);
    expect(result.stdout).toContain('Missing default stt-whisper model: run "npx assistant models pull whisper-base-en"');
  });
});

describe('usage', () => {
  it('exits 2 with usage for an unknown command or a missing id', async () => {
    expect((await run(['fetch'])).code).toBe(2);
    const missingId = await run(['pull']);
    expect(missingId.code).toBe(2);
    expect(missingId.stderr).toContain('Usage: assistant models');
  });
});
