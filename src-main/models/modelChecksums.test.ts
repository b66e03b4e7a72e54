import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentError } from '../../src-shared/contract/index.js';
import { TEST_LLM_MODEL } from '../testing/agentTestSupport.js';
import { DAMAGE_BYTES, DAMAGE_OFFSET, damagedCopy, storiesCopyEntry } from '../testing/damagedModel.js';
import { hashFile } from './modelDownloader.node.js';
import { checkFileAgainstManifest, ModelChecksumRecord, requireManifestChecksum } from './modelChecksums.node.js';
import { loadModelManifest } from './modelManifest.node.js';
import { parseModelManifest } from './modelManifest.js';

const pristine = readFileSync(TEST_LLM_MODEL);
const pristineSha256 = createHash('sha256').update(pristine).digest('hex');
const damaged = damagedCopy(pristine);
const damagedSha256 = createHash('sha256').update(damaged).digest('hex');

let dir: string;
let modelsDir: string;
let damagedFile: string;
let pristineFile: string;
let recordFile: string;
/** Every real hash goes through here, so a test can tell a remembered digest from a fresh one. */
let hashes: string[];
const countingHash = async (file: string) => {
  hashes.push(file);
  return (await hashFile(file)).sha256;
};
const newRecord = () => new ModelChecksumRecord(recordFile, countingHash);

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'model-checksums-'));
  modelsDir = path.join(dir, 'models');
  mkdirSync(path.join(modelsDir, 'llm'), { recursive: true });
  damagedFile = path.join(modelsDir, 'llm', 'stories-damaged.gguf');
  pristineFile = path.join(modelsDir, 'llm', 'stories-copy.gguf');
  writeFileSync(damagedFile, damaged);
  writeFileSync(pristineFile, pristine);
  recordFile = path.join(dir, 'data', 'model-checksums.json');
  hashes = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const expected = (file: string) => ({ path: file, sizeBytes: pristine.length, sha256: pristineSha256 });

describe('the damaged test model', () => {
  it('is stories260K with 200 KiB at offset 300,000 overwritten: same size, another sha256', () => {
    expect(pristine.length).toBe(1_185_376);
    expect(pristine.length).toBeGreaterThanOrEqual(DAMAGE_OFFSET + DAMAGE_BYTES);
    expect(damaged.length).toBe(pristine.length);
    expect(damaged.subarray(0, DAMAGE_OFFSET).equals(pristine.subarray(0, DAMAGE_OFFSET))).toBe(true);
    expect(damaged.subarray(DAMAGE_OFFSET + DAMAGE_BYTES).equals(pristine.subarray(DAMAGE_OFFSET + DAMAGE_BYTES))).toBe(true);
    expect(damagedSha256).not.toBe(pristineSha256);
  });
});

describe('checkFileAgainstManifest', () => {
  it('reports the damaged copy as a mismatch naming both digests, the pristine copy as ok', async () => {
    const record = newRecord();
    const bad = await checkFileAgainstManifest(expected(damagedFile), record);
    expect(bad).toMatchObject({ status: 'mismatch', sha256: damagedSha256, expectedSha256: pristineSha256, hashed: true });
    expect(bad.reason).toBe(`its sha256 is ${damagedSha256}, the manifest says ${pristineSha256}`);
    expect(await checkFileAgainstManifest(expected(pristineFile), record)).toMatchObject({ status: 'ok', sha256: pristineSha256 });
  });

  it('a file of the wrong size is a mismatch without reading it; an absent one is missing', async () => {
    appendFileSync(damagedFile, 'x');
    const record = newRecord();
    expect(await checkFileAgainstManifest(expected(damagedFile), record)).toMatchObject({
      status: 'mismatch',
      reason: `it is ${pristine.length + 1} bytes, the manifest says ${pristine.length}`,
    });
    expect(await checkFileAgainstManifest(expected(path.join(modelsDir, 'llm', 'absent.gguf')), record)).toMatchObject({ status: 'missing' });
    expect(hashes).toEqual([]);
  });
});

describe('ModelChecksumRecord: each file is hashed once per path, size and mtime', () => {
  it('a later start (a new record object on the same file) uses the remembered digest and reads nothing', async () => {
    const first = await newRecord().checksumOf(damagedFile);
    expect(first).toMatchObject({ sha256: damagedSha256, hashed: true });
    expect(hashes).toEqual([damagedFile]);
    const { size, mtimeMs } = statSync(damagedFile);
    const saved = JSON.parse(readFileSync(recordFile, 'utf8'));
    expect(saved).toMatchObject({ version: 1, files: { [damagedFile]: { sizeBytes: size, mtimeMs, sha256: damagedSha256 } } });

    const later = await newRecord().checksumOf(damagedFile);
    expect(later).toEqual({ sha256: damagedSha256, sizeBytes: size, hashed: false, hashMs: null });
    expect(hashes).toEqual([damagedFile]);
  });

  it('a new mtime or a new size makes it hash the file again', async () => {
    await newRecord().checksumOf(damagedFile);
    const { mtime } = statSync(damagedFile);
    utimesSync(damagedFile, mtime, new Date(mtime.getTime() + 5_000));
    expect((await newRecord().checksumOf(damagedFile)).hashed).toBe(true);
    expect((await newRecord().checksumOf(damagedFile)).hashed).toBe(false);
    expect(hashes).toHaveLength(2);

    // Repaired in place (the pristine bytes plus one), with the old mtime put back: the size alone gives it away.
    writeFileSync(damagedFile, Buffer.concat([pristine, Buffer.from([0])]));
    utimesSync(damagedFile, mtime, new Date(mtime.getTime() + 5_000));
    const repaired = await newRecord().checksumOf(damagedFile);
    expect(repaired.hashed).toBe(true);
    expect(repaired.sha256).toBe(createHash('sha256').update(Buffer.concat([pristine, Buffer.from([0])])).digest('hex'));
    expect(hashes).toHaveLength(3);
  });

  it('rehash ignores the remembered digest and updates it', async () => {
    await newRecord().checksumOf(pristineFile);
    const again = await newRecord().checksumOf(pristineFile, { rehash: true });
    expect(again.hashed).toBe(true);
    expect(hashes).toEqual([pristineFile, pristineFile]);
  });

  it('a damaged record file is ignored and replaced', async () => {
    mkdirSync(path.dirname(recordFile), { recursive: true });
    writeFileSync(recordFile, '{"version": 1, "files": {"x": 5}');
    expect((await newRecord().checksumOf(pristineFile)).hashed).toBe(true);
    expect((await newRecord().checksumOf(pristineFile)).hashed).toBe(false);
  });
});

describe('requireManifestChecksum (chat start-up)', () => {
  const manifest = parseModelManifest(
    [
      ...loadModelManifest(),
      ...['stories-damaged', 'stories-copy'].map((id) => storiesCopyEntry(id, pristine, pristineSha256)),
    ],
    'test manifest',
  );
  const location = () => ({ manifest, modelsDir, projectRoot: path.join(dir, 'project') });

  it('refuses a damaged manifest model with MODEL_CORRUPT naming the file, pull and verify', async () => {
    const error = await requireManifestChecksum(damagedFile, newRecord(), location()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AgentError);
    expect((error as AgentError).code).toBe('MODEL_CORRUPT');
    expect((error as AgentError).message).toBe(
      `${damagedFile} is not the file the model manifest lists as "stories-damaged" (its sha256 is ${damagedSha256}, the manifest says ${pristineSha256}): ` +
        'it is damaged or another version. Download it again with `npx assistant models pull stories-damaged`; `npx assistant models verify` checks every model.',
    );
  });

  it('passes the pristine copy, and on the next start only stats it', async () => {
    await requireManifestChecksum(pristineFile, newRecord(), location());
    await requireManifestChecksum(pristineFile, newRecord(), location());
    expect(hashes).toEqual([pristineFile]);
  });

  it('leaves a file outside the models dirs alone: it has no manifest checksum', async () => {
    const elsewhere = path.join(dir, 'stories-damaged.gguf');
    writeFileSync(elsewhere, damaged);
    await requireManifestChecksum(elsewhere, newRecord(), location());
    expect(hashes).toEqual([]);
  });
});
