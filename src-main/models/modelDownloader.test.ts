import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentError } from '../../src-shared/contract/index.js';
import { downloadLockPath, downloadModelFile, partialPath, rejectedPath, type DownloadProgress } from './modelDownloader.node.js';
import { startRangeFileServer, type RangeFileServer } from '../testing/rangeFileServer.node.js';

const FILE_BYTES = 3 * 1024 * 1024 + 123;
const body = randomBytes(FILE_BYTES);
const sha256 = createHash('sha256').update(body).digest('hex');
const sha1 = createHash('sha1').update(body).digest('hex');

let server: RangeFileServer;
let dir: string;
let destination: string;

beforeEach(async () => {
  server = await startRangeFileServer(body);
  dir = await mkdtemp(path.join(tmpdir(), 'model-download-'));
  destination = path.join(dir, 'llm', 'model.bin');
});

afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function expectAgentError(promise: Promise<unknown>, code: string): Promise<AgentError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected AgentError ${code}, but the download succeeded`);
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AgentError);
  expect((error as AgentError).code).toBe(code);
  return error as AgentError;
}

describe('downloadModelFile', () => {
  it('downloads the whole file, verifies sha256 and sha1, and leaves no partial behind', async () => {
    const result = await downloadModelFile({ url: server.url, destination, sizeBytes: FILE_BYTES, sha256, sha1 });

    expect(result).toMatchObject({ path: destination, bytes: FILE_BYTES, resumedFromBytes: 0, sha256, sha1, checksumVerified: true });
    expect((await readFile(destination)).equals(body)).toBe(true);
    expect(existsSync(partialPath(destination))).toBe(false);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.range).toBeUndefined();
  });

  it('keeps the partial when the connection drops, then resumes it with a Range request', async () => {
    server.behaviour.dropAfterBytes = Math.floor(FILE_BYTES * 0.7);
    const resumeCommand = 'npx assistant models pull test-model';

    const failure = await expectAgentError(
      downloadModelFile({ url: server.url, destination, sizeBytes: FILE_BYTES, sha256, resumeCommand }),
      'DOWNLOAD_FAILED',
    );
    const partial = partialPath(destination);
    const keptBytes = (await stat(partial)).size;
    expect(keptBytes).toBeGreaterThan(0);
    expect(keptBytes).toBeLessThan(FILE_BYTES);
    expect(existsSync(destination)).toBe(false);
    // The message tells the user the partial is kept, how to resume, and where to copy the file when offline.
    expect(failure.message).toContain(partial);
    expect(failure.message).toContain(resumeCommand);
    expect(failure.message).toContain(`copy it to ${destination}`);

    server.behaviour.dropAfterBytes = undefined;
    const result = await downloadModelFile({ url: server.url, destination, sizeBytes: FILE_BYTES, sha256, resumeCommand });

    expect(result.resumedFromBytes).toBe(keptBytes);
    expect(result.checksumVerified).toBe(true);
    expect((await readFile(destination)).equals(body)).toBe(true);
    const resumeRequest = server.requests[1];
    expect(resumeRequest?.range).toBe(`bytes=${keptBytes}-`);
    expect(resumeRequest?.status).toBe(206);
    expect(resumeRequest?.bytesSent).toBe(FILE_BYTES - keptBytes);
    expect(server.totalBytesSent()).toBeLessThan(2 * FILE_BYTES);
  });

  it('moves a download with the wrong checksum to .rejected and installs nothing', async () => {
    const wrongSha256 = createHash('sha256').update('some other file').digest('hex');

    const failure = await expectAgentError(
      downloadModelFile({ url: server.url, destination, sizeBytes: FILE_BYTES, sha256: wrongSha256 }),
      'CHECKSUM_MISMATCH',
    );

    expect(failure.message).toContain(wrongSha256);
    expect(failure.message).toContain(sha256);
    expect(existsSync(destination)).toBe(false);
    expect(existsSync(partialPath(destination))).toBe(false);
    expect((await readFile(rejectedPath(destination))).equals(body)).toBe(true);
  });

  it('rejects on a wrong sha1 even without a sha256', async () => {
    const wrongSha1 = createHash('sha1').update('some other file').digest('hex');
    const failure = await expectAgentError(
      downloadModelFile({ url: server.url, destination, sha256: null, sha1: wrongSha1 }),
      'CHECKSUM_MISMATCH',
    );
    expect(failure.message).toContain(wrongSha1);
    expect(failure.message).toContain(sha1);
    expect(existsSync(destination)).toBe(false);
  });

  it('restarts from zero when the server ignores Range and answers 200', async () => {
    // A stale partial that is not a prefix of the file: appending to it would corrupt the result.
    await mkdir(path.dirname(destination), { recursive: true });
    await writeFile(partialPath(destination), Buffer.alloc(1000, 0xab));
    server.behaviour.ignoreRange = true;

    const result = await downloadModelFile({ url: server.url, destination, sizeBytes: FILE_BYTES, sha256 });

    expect(server.requests[0]?.range).toBe('bytes=1000-');
    expect(server.requests[0]?.status).toBe(200);
    expect(result).toMatchObject({ bytes: FILE_BYTES, resumedFromBytes: 0 });
    expect((await readFile(destination)).equals(body)).toBe(true);
  });

  it('starts over when the server answers 416 because the partial is as long as the file', async () => {
    await mkdir(path.dirname(destination), { recursive: true });
    await writeFile(partialPath(destination), Buffer.alloc(FILE_BYTES, 0xcd));

    const result = await downloadModelFile({ url: server.url, destination, sha256 });

    expect(server.requests.map((request) => [request.range, request.status])).toEqual([
      [`bytes=${FILE_BYTES}-`, 416],
      [undefined, 200],
    ]);
    expect(result.resumedFromBytes).toBe(0);
    expect((await readFile(destination)).equals(body)).toBe(true);
  });

  it('reports progress that only grows and ends at the total', async () => {
    const updates: DownloadProgress[] = [];
    await downloadModelFile({ url: server.url, destination, sizeBytes: FILE_BYTES, sha256, onProgress: (p) => updates.push(p) });

    expect(updates.length).toBeGreaterThan(2);
    for (let i = 1; i < updates.length; i += 1) {
      expect(updates[i]!.bytes).toBeGreaterThanOrEqual(updates[i - 1]!.bytes);
    }
    expect(updates[0]!.bytes).toBe(0);
    expect(updates.at(-1)!.bytes).toBe(FILE_BYTES);
    expect(updates.every((update) => update.total === FILE_BYTES)).toBe(true);
    expect(updates.at(-1)!.bytesPerSecond).toBeGreaterThan(0);
  });

  it('counts resumed bytes in progress, starting from the partial size', async () => {
    server.behaviour.dropAfterBytes = 1024 * 1024;
    await expectAgentError(downloadModelFile({ url: server.url, destination, sizeBytes: FILE_BYTES, sha256 }), 'DOWNLOAD_FAILED');
    const keptBytes = (await stat(partialPath(destination))).size;
    server.behaviour.dropAfterBytes = undefined;

    const updates: DownloadProgress[] = [];
    await downloadModelFile({ url: server.url, destination, sizeBytes: FILE_BYTES, sha256, onProgress: (p) => updates.push(p) });

    expect(updates[0]).toMatchObject({ bytes: keptBytes, resumedFromBytes: keptBytes, total: FILE_BYTES });
    expect(updates.at(-1)!.bytes).toBe(FILE_BYTES);
  });

  it('keeps the partial when aborted, and the next call resumes it', async () => {
    server.behaviour.chunkDelayMs = 20;
    const controller = new AbortController();
    const onProgress = (progress: DownloadProgress) => {
      if (progress.bytes >= 256 * 1024) controller.abort();
    };

    const cancelled = await expectAgentError(
      downloadModelFile({ url: server.url, destination, sizeBytes: FILE_BYTES, sha256, signal: controller.signal, onProgress }),
      'CANCELLED',
    );
    expect(cancelled.message).toContain(partialPath(destination));
    const keptBytes = (await stat(partialPath(destination))).size;
    expect(keptBytes).toBeGreaterThan(0);
    expect(existsSync(destination)).toBe(false);

    server.behaviour.chunkDelayMs = 0;
    const result = await downloadModelFile({ url: server.url, destination, sizeBytes: FILE_BYTES, sha256 });
    expect(result.resumedFromBytes).toBe(keptBytes);
    expect(server.requests.at(-1)?.range).toBe(`bytes=${keptBytes}-`);
    expect((await readFile(destination)).equals(body)).toBe(true);
  });

  it('gives up with DOWNLOAD_FAILED when the server goes silent', async () => {
    server.behaviour.stallAfterBytes = 100 * 1024;
    const failure = await expectAgentError(
      downloadModelFile({ url: server.url, destination, sizeBytes: FILE_BYTES, sha256, idleTimeoutMs: 300 }),
      'DOWNLOAD_FAILED',
    );
    expect(failure.message).toContain('no data arrived');
    expect(existsSync(partialPath(destination))).toBe(true);
  });

  it('fails with the HTTP status when the server refuses', async () => {
    server.behaviour.status = 404;
    const failure = await expectAgentError(downloadModelFile({ url: server.url, destination, sha256 }), 'DOWNLOAD_FAILED');
    expect(failure.message).toContain('HTTP 404');
    expect(existsSync(destination)).toBe(false);
  });

  it('fails with DOWNLOAD_FAILED when nothing listens at the address', async () => {
    await server.close();
    const failure = await expectAgentError(downloadModelFile({ url: server.url, destination, sha256 }), 'DOWNLOAD_FAILED');
    expect(failure.message).toContain('ECONNREFUSED');
  });

  it('stops at once when the Content-Length disagrees with the expected size, before writing anything', async () => {
    server.behaviour.chunkDelayMs = 20;
    const failure = await expectAgentError(
      downloadModelFile({ url: server.url, destination, sizeBytes: 1000, sha256 }),
      'DOWNLOAD_FAILED',
    );
    expect(failure.message).toContain('1000 bytes');
    expect(failure.message).toContain(`${FILE_BYTES} bytes`);
    expect(failure.message.split('. ')).toHaveLength(1);
    expect(server.totalBytesSent()).toBeLessThan(FILE_BYTES / 2);
    expect(existsSync(partialPath(destination))).toBe(false);
    expect(existsSync(rejectedPath(destination))).toBe(false);
    expect(existsSync(downloadLockPath(destination))).toBe(false);
  });

  it('stops once more bytes than expected arrived when the server does not say the size', async () => {
    server.behaviour.omitContentLength = true;
    server.behaviour.chunkDelayMs = 20;
    const failure = await expectAgentError(
      downloadModelFile({ url: server.url, destination, sizeBytes: 100 * 1024, sha256 }),
      'DOWNLOAD_FAILED',
    );
    expect(failure.message).toContain(`${100 * 1024} bytes`);
    expect(server.totalBytesSent()).toBeLessThan(FILE_BYTES / 2);
    expect(existsSync(partialPath(destination))).toBe(false);
    expect(existsSync(rejectedPath(destination))).toBe(false);
  });

  it('lets only one writer at a time download a file; the second gets ALREADY_DOWNLOADING and the first finishes intact', async () => {
    server.behaviour.chunkDelayMs = 10;
    let firstStarted!: () => void;
    const started = new Promise<void>((resolve) => (firstStarted = resolve));
    const first = downloadModelFile({ url: server.url, destination, sizeBytes: FILE_BYTES, sha256, onProgress: (p) => p.bytes > 0 && firstStarted() });
    await started;

    const second = await expectAgentError(downloadModelFile({ url: server.url, destination, sizeBytes: FILE_BYTES, sha256 }), 'ALREADY_DOWNLOADING');
    expect(second.message).toContain(`by process ${process.pid}`);
    expect(second.message).toContain('model.bin');

    server.behaviour.chunkDelayMs = 0;
    await expect(first).resolves.toMatchObject({ bytes: FILE_BYTES, checksumVerified: true });
    expect((await readFile(destination)).equals(body)).toBe(true);
    expect(existsSync(rejectedPath(destination))).toBe(false);
    expect(existsSync(downloadLockPath(destination))).toBe(false);
    expect(server.requests).toHaveLength(1);
  });

  it('takes over a lock left by a process that is gone', async () => {
    await mkdir(path.dirname(destination), { recursive: true });
    // A pid far above any pid_max: no such process.
    await writeFile(downloadLockPath(destination), JSON.stringify({ pid: 2 ** 30, startedAt: new Date(0).toISOString() }));

    const result = await downloadModelFile({ url: server.url, destination, sizeBytes: FILE_BYTES, sha256 });
    expect(result.checksumVerified).toBe(true);
    expect(existsSync(downloadLockPath(destination))).toBe(false);
  });

  it('reports an unverified download when no checksum is known', async () => {
    const result = await downloadModelFile({ url: server.url, destination, sha256: null });
    expect(result.checksumVerified).toBe(false);
    expect(result.sha256).toBe(sha256);
  });
});
