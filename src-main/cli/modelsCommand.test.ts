import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isFolderEntry, parseModelManifest, type FileModelEntry } from '../models/modelManifest.js';
import { loadModelManifest } from '../models/modelManifest.node.js';
import { closedPort } from '../testing/closedPort.node.js';
import { damagedCopy, storiesCopyEntry } from '../testing/damagedModel.js';
import { runModelsCommand, type CommandOutput } from './modelsCommand.node.js';
import { sharedModelsDir } from '../models/projectPaths.node.js';
import { startRangeFileServer, type RangeFileServer } from '../testing/rangeFileServer.node.js';

const stories = loadModelManifest().find((entry): entry is FileModelEntry => entry.id === 'stories260k' && !isFolderEntry(entry))!;
const storiesBytes = readFileSync(path.join(sharedModelsDir(), stories.file));
const sileroBytes = readFileSync(path.join(sharedModelsDir(), 'vad', 'silero-v6.2.0-ggml.bin'));

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

/**
 * An embedding model as a folder of files (transformers.js layout), each served by its own local Range server: small
 * real files (a config and a tokenizer config written here, the real Silero VAD model standing in for tokenizer.json
 * and the real stories260K.gguf for the ONNX weights, so two files of similar size carry the progress).
 */
describe('a folder model (embedding): pull, list, checksum, resume, offline', () => {
  const files: Record<string, Buffer> = {
    'config.json': Buffer.from(JSON.stringify({ model_type: 'bert', hidden_size: 384, num_hidden_layers: 6 }, null, 2)),
    'tokenizer_config.json': Buffer.from(JSON.stringify({ do_lower_case: true, model_max_length: 512, tokenizer_class: 'BertTokenizer' })),
    'tokenizer.json': sileroBytes,
    'onnx/model_quantized.onnx': storiesBytes,
  };
  const paths = Object.keys(files);
  const totalBytes = Object.values(files).reduce((sum, bytes) => sum + bytes.length, 0);
  const beforeWeights = totalBytes - storiesBytes.length;
  /** The bytes each server sends; a test may change them in place (same length) to corrupt or repair a file. */
  const served = Object.fromEntries(paths.map((file) => [file, Buffer.from(files[file]!)]));
  const servers: Record<string, RangeFileServer> = {};
  let offlineUrl: string;

  const entry = (id: string, urlOf: (file: string) => string) => ({
    id,
    role: 'embedding',
    folder: `embeddings/${id}`,
    files: paths.map((file) => ({ path: file, url: urlOf(file), sizeBytes: files[file]!.length, sha256: createHash('sha256').update(files[file]!).digest('hex') })),
    license: 'MIT',
    description: 'A test embedding model served by local servers.',
  });
  let manifest: ReturnType<typeof parseModelManifest>;
  const folderOf = (id: string) => path.join(modelsDir, 'embeddings', id);
  const pullFolder = (id: string, options: Parameters<typeof runModelsCommand>[2] = {}) => run(['pull', id, '--models-dir', modelsDir], { manifest, ...options });
  const requestsTo = (file: string) => servers[file]!.requests;

  beforeAll(async () => {
    for (const file of paths) servers[file] = await startRangeFileServer(served[file]!, path.basename(file));
    offlineUrl = `http://127.0.0.1:${await closedPort()}`;
    manifest = parseModelManifest(
      [...loadModelManifest(), entry('test-embed', (file) => servers[file]!.url), entry('test-embed-offline', (file) => `${offlineUrl}/${file}`)],
      'test manifest',
    );
  });
  afterAll(() => Promise.all(Object.values(servers).map((server) => server.close())));
  beforeEach(() => {
    for (const file of paths) {
      served[file]!.set(files[file]!);
      servers[file]!.behaviour = {};
      servers[file]!.requests.length = 0;
    }
  });

  it('downloads every file with progress summed over the folder, then the folder appears complete; a second pull fetches nothing', async () => {
    const before = await run(['list', '--models-dir', modelsDir], { manifest, projectRoot: path.join(modelsDir, 'project') });
    // Size is the sum of the files.
    expect(before.stdout).toMatch(/test-embed\s+embedding\s+2\.0 MiB\s+missing/);

    const result = await pullFolder('test-embed');
    expect(result.code).toBe(0);
    const folder = folderOf('test-embed');
    for (const file of paths) expect(readFileSync(path.join(folder, file)).equals(files[file]!), file).toBe(true);
    expect(result.stdout).toContain(`Saved test-embed to ${folder} (4 files, sha256 verified).`);
    expect(result.stderr).toContain('Downloading test-embed (4 files, 2.0 MiB, MIT)');
    // One bar for the folder: percentages of the whole folder, ending at 100 % of the summed size.
    const lines = result.stderr.split('\n').filter((line) => line.startsWith('test-embed: '));
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.at(-1)).toMatch(/^test-embed: 100% \(2\.0 MiB of 2\.0 MiB/);
    // Summed: every tenth of the folder is passed on the way, none is skipped when the next file starts.
    const steps = lines.map((line) => Math.floor(Number(line.match(/: (\d+)%/)?.[1]) / 10));
    expect(steps).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // No leftovers: no partial folder, no locks.
    expect(readdirSync(path.join(modelsDir, 'embeddings'))).toEqual(['test-embed']);
    expect(readdirSync(folder).sort()).toEqual(['config.json', 'onnx', 'tokenizer.json', 'tokenizer_config.json']);

    const listed = await run(['list', '--models-dir', modelsDir], { manifest, projectRoot: path.join(modelsDir, 'project') });
    expect(listed.stdout).toMatch(/test-embed\s+embedding\s+2\.0 MiB\s+ready \(models-dir\)\s+\S*embeddings\/test-embed/);
    const again = await pullFolder('test-embed');
    expect(again).toMatchObject({ code: 0, stdout: `test-embed is already present and verified: ${folder}\n` });
    expect(paths.map((file) => requestsTo(file).length)).toEqual([1, 1, 1, 1]);
    expect((await run(['path', 'test-embed', '--models-dir', modelsDir], { manifest })).stdout).toBe(`${folder}\n`);
  });

  it('a corrupted file fails with CHECKSUM_MISMATCH and no model folder; the next pull fetches only that file again', async () => {
    const tokenizer = served['tokenizer.json']!;
    tokenizer[10] = tokenizer[10]! ^ 0xff;
    const result = await pullFolder('test-embed');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('CHECKSUM_MISMATCH');
    expect(result.stderr).toContain(createHash('sha256').update(files['tokenizer.json']!).digest('hex'));
    expect(existsSync(folderOf('test-embed'))).toBe(false);
    expect(existsSync(path.join(`${folderOf('test-embed')}.partial`, 'tokenizer.json.rejected'))).toBe(true);

    served['tokenizer.json']!.set(files['tokenizer.json']!);
    for (const file of paths) requestsTo(file).length = 0;
    const again = await pullFolder('test-embed');
    expect(again.code).toBe(0);
    expect(paths.map((file) => requestsTo(file).length)).toEqual([0, 0, 1, 1]);
    expect(readdirSync(folderOf('test-embed')).sort()).toEqual(['config.json', 'onnx', 'tokenizer.json', 'tokenizer_config.json']);
  });

  it('an interrupted pull keeps what arrived (list shows it) and the next one resumes with a Range request', async () => {
    servers['onnx/model_quantized.onnx']!.behaviour = { dropAfterBytes: 400_000 };
    const first = await pullFolder('test-embed');
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('DOWNLOAD_FAILED');
    expect(first.stderr).toContain(`npx assistant models pull test-embed --models-dir ${modelsDir}`);
    expect(existsSync(folderOf('test-embed'))).toBe(false);
    const kept = statSync(path.join(`${folderOf('test-embed')}.partial`, 'onnx', 'model_quantized.onnx.partial')).size;
    expect(kept).toBeGreaterThan(0);
    const listed = await run(['list', '--models-dir', modelsDir], { manifest });
    const percent = Math.floor(((beforeWeights + kept) / totalBytes) * 100);
    expect(listed.stdout).toMatch(new RegExp(`test-embed\\s+embedding\\s+2\\.0 MiB\\s+missing \\(${percent}% downloaded, pull resumes\\)`));

    servers['onnx/model_quantized.onnx']!.behaviour = {};
    const second = await pullFolder('test-embed');
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/Resumed from \d/);
    expect(requestsTo('onnx/model_quantized.onnx').at(-1)).toMatchObject({ range: `bytes=${kept}-`, status: 206 });
    expect(paths.map((file) => requestsTo(file).length)).toEqual([1, 1, 1, 2]);
    expect(readFileSync(path.join(folderOf('test-embed'), 'onnx', 'model_quantized.onnx')).equals(storiesBytes)).toBe(true);
  });

  it('Ctrl-C (the signal) cancels a pull, keeping the files so far; the next pull resumes', async () => {
    servers['onnx/model_quantized.onnx']!.behaviour = { chunkDelayMs: 30 };
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    const cancelled = await pullFolder('test-embed', { signal: controller.signal });
    expect(cancelled.code).toBe(1);
    expect(cancelled.stderr).toMatch(/CANCELLED: The download of test-embed was cancelled\. The .* received so far are kept in .*test-embed\.partial/);
    expect(existsSync(folderOf('test-embed'))).toBe(false);

    servers['onnx/model_quantized.onnx']!.behaviour = {};
    const resumed = await pullFolder('test-embed');
    expect(resumed.code).toBe(0);
    expect(requestsTo('onnx/model_quantized.onnx').at(-1)?.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(requestsTo('config.json')).toHaveLength(1);
  });

  it('while one pull runs, list says downloading and a second pull of the same folder is refused', async () => {
    servers['onnx/model_quantized.onnx']!.behaviour = { chunkDelayMs: 40 };
    const first = pullFolder('test-embed');
    const deadline = Date.now() + 10_000;
    while (!existsSync(path.join(`${folderOf('test-embed')}.partial`, 'onnx', 'model_quantized.onnx.partial')) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const listed = await run(['list', '--models-dir', modelsDir], { manifest });
    expect(listed.stdout).toMatch(/test-embed\s+embedding\s+2\.0 MiB\s+downloading \d+%/);
    const second = await pullFolder('test-embed');
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`ALREADY_DOWNLOADING: test-embed is already being downloaded (by process ${process.pid}); it resumes when that one stops.`);
    servers['onnx/model_quantized.onnx']!.behaviour = {};
    expect((await first).code).toBe(0);
    expect(readFileSync(path.join(folderOf('test-embed'), 'onnx', 'model_quantized.onnx')).equals(storiesBytes)).toBe(true);
  });

  it('offline: one clear error, and no folder left behind', async () => {
    const result = await pullFolder('test-embed-offline');
    expect(result.code).toBe(1);
    const errorLines = result.stderr.split('\n').filter((line) => line.startsWith('DOWNLOAD_FAILED'));
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toContain(`The download of ${offlineUrl}/config.json failed`);
    expect(errorLines[0]).toContain('ECONNREFUSED');
    expect(existsSync(path.join(modelsDir, 'embeddings'))).toBe(false);
  });

  it('refuses --url for a folder model (it has several files)', async () => {
    const result = await run(['pull', 'test-embed', '--url', servers['config.json']!.url, '--models-dir', modelsDir], { manifest });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--url is for single-file models; test-embed is a folder of 4 files');
  });

  it('a hand-copied folder with every file is ready; one missing a file is INCOMPLETE and pull completes it', async () => {
    const folder = folderOf('test-embed');
    for (const file of paths.slice(0, 3)) {
      const target = path.join(folder, file);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, files[file]!);
    }
    const incomplete = await run(['list', '--models-dir', modelsDir], { manifest });
    expect(incomplete.stdout).toMatch(/test-embed\s+embedding\s+2\.0 MiB\s+INCOMPLETE/);
    const pulled = await pullFolder('test-embed');
    expect(pulled.code).toBe(0);
    // The three files already there were kept (checked by their sha256), only the missing one was fetched.
    expect(paths.map((file) => requestsTo(file).length)).toEqual([0, 0, 0, 1]);
    expect((await run(['list', '--models-dir', modelsDir], { manifest })).stdout).toMatch(/test-embed\s+embedding\s+2\.0 MiB\s+ready/);
  });
});

/**
 * A damaged copy of stories260K (200 KiB overwritten at offset 300,000) and a pristine copy in a test models dir, both
 * listed in the manifest with the sha256 of the pristine file (computed here, not copied from the manifest).
 */
describe('assistant models verify', () => {
  const pristineSha256 = createHash('sha256').update(storiesBytes).digest('hex');
  const damagedBytes = damagedCopy(storiesBytes);
  const damagedSha256 = createHash('sha256').update(damagedBytes).digest('hex');
  const copyEntry = (id: string) => storiesCopyEntry(id, storiesBytes, pristineSha256);
  const manifest = parseModelManifest([...loadModelManifest(), copyEntry('stories-damaged'), copyEntry('stories-copy')], 'test manifest');
  let dataDir: string;
  let damagedFile: string;
  let copyFile: string;
  const recordOf = () => JSON.parse(readFileSync(path.join(dataDir, 'model-checksums.json'), 'utf8')) as { files: Record<string, { sha256: string; mtimeMs: number }> };
  /** verify in the test tree: the test models dir, a project dir with nothing in it (so no shared models either). */
  const verify = (args: string[], options: Parameters<typeof runModelsCommand>[2] = {}) =>
    run(['verify', ...args, '--models-dir', modelsDir, '--data-dir', dataDir], { manifest, projectRoot: path.join(modelsDir, 'project'), ...options });

  beforeEach(() => {
    dataDir = path.join(modelsDir, 'data');
    damagedFile = path.join(modelsDir, 'llm', 'stories-damaged.gguf');
    copyFile = path.join(modelsDir, 'llm', 'stories-copy.gguf');
    mkdirSync(path.dirname(damagedFile), { recursive: true });
    writeFileSync(damagedFile, damagedBytes);
    writeFileSync(copyFile, storiesBytes);
  });

  it('reports the damaged copy as MISMATCH with the fix, the pristine copy as ok, the rest as missing; exit code 1', async () => {
    const result = await verify([]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`stories-damaged\\s+llm\\s+MISMATCH\\s+${damagedFile}\n`));
    expect(result.stdout).toMatch(new RegExp(`stories-copy\\s+llm\\s+ok\\s+${copyFile}\n`));
    expect(result.stdout).toMatch(/whisper-base-en\s+stt-whisper\s+missing/);
    expect(result.stdout).toContain(
      `${damagedFile} is not the file the model manifest lists as "stories-damaged" (its sha256 is ${damagedSha256}, the manifest says ${pristineSha256})`,
    );
    expect(result.stdout).toContain('Download it again with `npx assistant models pull stories-damaged`');
    expect(result.stdout).toMatch(/Hashed 2 models \(2\.3 MiB\) in \d+ ms\./);
  });

  it('--json: one line per model with both digests; exit code 1 on the mismatch, 0 for the pristine copy', async () => {
    const damaged = await verify(['stories-damaged', '--json']);
    expect(damaged.code).toBe(1);
    const lines = damaged.stdout.trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines).toEqual([
      expect.objectContaining({
        type: 'model',
        id: 'stories-damaged',
        role: 'llm',
        status: 'mismatch',
        path: damagedFile,
        sizeBytes: storiesBytes.length,
        sha256: damagedSha256,
        expectedSha256: pristineSha256,
        hashMs: expect.any(Number),
        message: expect.stringContaining('npx assistant models pull stories-damaged'),
      }),
    ]);
    const copy = await verify(['stories-copy', '--json']);
    expect(copy.code).toBe(0);
    expect(JSON.parse(copy.stdout)).toMatchObject({ id: 'stories-copy', status: 'ok', sha256: pristineSha256 });
  });

  it('re-hashes even a remembered file and updates the record that chat start-up reads', async () => {
    // The record says the damaged file is fine (as if it had been damaged after a check, mtime put back).
    mkdirSync(dataDir, { recursive: true });
    const { size, mtimeMs } = statSync(damagedFile);
    writeFileSync(
      path.join(dataDir, 'model-checksums.json'),
      JSON.stringify({ version: 1, files: { [damagedFile]: { sizeBytes: size, mtimeMs, sha256: pristineSha256, hashedAt: '2026-01-01T00:00:00.000Z' } } }),
    );
    const result = await verify(['stories-damaged', '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'mismatch', sha256: damagedSha256, hashMs: expect.any(Number) });
    expect(recordOf().files[damagedFile]).toMatchObject({ sha256: damagedSha256, mtimeMs });
  });

  it('a file of the user\'s own is "not in manifest" (no checksum to compare with), exit code 0', async () => {
    const own = path.join(modelsDir, 'own', 'my-model.gguf');
    mkdirSync(path.dirname(own));
    writeFileSync(own, damagedBytes);
    const result = await verify([own]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`-\\s+-\\s+not in manifest\\s+${own}\n`));
    expect(result.stdout).toContain(`${own} is not a model from the manifest, so there is no checksum to verify it against.`);
    // The same file where the manifest puts a model is that model.
    const asManifestModel = await verify([damagedFile, '--json']);
    expect(JSON.parse(asManifestModel.stdout)).toMatchObject({ id: 'stories-damaged', status: 'mismatch' });
    // And a role env var pointing at a file of the user's own is listed too.
    const all = await verify(['--json'], { env: { ASSISTANT_LLM_MODEL: own } });
    expect(all.stdout.trimEnd().split('\n').map((line) => JSON.parse(line)).at(-1)).toMatchObject({ id: null, role: 'llm', status: 'not-in-manifest', path: own });
  });

  it('a path that is no model (a folder, an empty file, a .gguf that is not GGUF) fails with why; a copy of a manifest model is that model', async () => {
    const odd = path.join(modelsDir, 'odd files');
    mkdirSync(odd, { recursive: true });
    writeFileSync(path.join(odd, 'empty.gguf'), '');
    writeFileSync(path.join(odd, 'hello.gguf'), 'hello');
    writeFileSync(path.join(odd, 'my copy.gguf'), storiesBytes);
    const folder = await verify([`${odd}/`, '--json']);
    expect(folder.code).toBe(1);
    expect(JSON.parse(folder.stdout)).toMatchObject({ status: 'unreadable', message: expect.stringContaining('is a directory; verify needs a model file') });
    const empty = await verify([path.join(odd, 'empty.gguf')]);
    expect(empty.code).toBe(1);
    expect(empty.stdout).toContain('is empty: it is not a model');
    const hello = await verify([path.join(odd, 'hello.gguf')]);
    expect(hello.code).toBe(1);
    expect(hello.stdout).toContain('is not a usable GGUF model');
    const copy = await verify([path.join(odd, 'my copy.gguf'), '--json']);
    expect(copy.code).toBe(0);
    expect(JSON.parse(copy.stdout)).toMatchObject({ id: 'stories260k', status: 'ok', sha256: pristineSha256 });
  });

  it('exit code 0 when everything there is ok; 1 when the one model asked for is missing; usage errors', async () => {
    rmSync(damagedFile);
    const all = await verify([]);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/stories-damaged\s+llm\s+missing/);
    expect((await verify(['stories-damaged'])).code).toBe(1);
    const unknown = await verify(['nonexistent', '--json']);
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ type: 'error', code: 'NOT_FOUND', message: expect.stringContaining('Unknown model "nonexistent"') });
    const jsonElsewhere = await run(['list', '--json']);
    expect(jsonElsewhere.code).toBe(2);
    expect(jsonElsewhere.stderr).toContain('--json is for "assistant models verify" only.');
  });

  it('verify records the new mtime of a file that was touched', async () => {
    await verify(['stories-copy']);
    const before = recordOf().files[copyFile]!;
    const { mtime } = statSync(copyFile);
    utimesSync(copyFile, mtime, new Date(mtime.getTime() + 60_000));
    await verify(['stories-copy']);
    const after = recordOf().files[copyFile]!;
    expect(after.mtimeMs).toBe(statSync(copyFile).mtimeMs);
    expect(after.mtimeMs).toBeGreaterThan(before.mtimeMs + 59_000);
  });
});
