import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { AgentError } from '../../src-shared/contract/index.js';
import { hashFile } from './modelDownloader.node.js';
import { manifestFileEntryAt, pullCommand, type ModelLocationOptions } from './modelResolver.node.js';

/**
 * A model file is checked against the manifest's sha256 once: the digest is remembered in the data folder with the
 * file's path, size and mtime, so later starts only stat the file. A copy, an edit or a re-download changes the size or
 * the mtime, and the file is hashed again.
 */
export const MODEL_CHECKSUMS_FILE = 'model-checksums.json';

export function modelChecksumRecordPath(dataDir: string): string {
  return path.join(path.resolve(dataDir), MODEL_CHECKSUMS_FILE);
}

const RememberedChecksum = z.object({
  sizeBytes: z.number().int().nonnegative(),
  mtimeMs: z.number(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  hashedAt: z.string(),
});
export type RememberedChecksum = z.infer<typeof RememberedChecksum>;

const ChecksumRecordFile = z.object({ version: z.literal(1), files: z.record(z.string(), RememberedChecksum) });
type ChecksumRecordFile = z.infer<typeof ChecksumRecordFile>;

export interface FileChecksum {
  sha256: string;
  sizeBytes: number;
  /** True when the file was read and hashed now; false when the record already knew this path, size and mtime. */
  hashed: boolean;
  /** How long hashing took; null when the digest was remembered. */
  hashMs: number | null;
}

const sha256OfFile = async (file: string) => (await hashFile(file)).sha256;

/** The remembered digests (`<dataDir>/model-checksums.json`). Losing or damaging the file only costs a re-hash. */
export class ModelChecksumRecord {
  /** Writes from this process, one after another, so none overwrites another's entry. */
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    /** Streams the file through sha256 (1 MiB chunks); tests count the calls. */
    private readonly hash: (file: string) => Promise<string> = sha256OfFile,
  ) {}

  /** The file's sha256: remembered when path, size and mtime are what they were when it was hashed, else hashed now. */
  async checksumOf(file: string, { rehash = false }: { rehash?: boolean } = {}): Promise<FileChecksum> {
    const target = path.resolve(file);
    const before = await stat(target);
    if (!rehash) {
      const known = (await this.read()).files[target];
      if (known !== undefined && known.sizeBytes === before.size && known.mtimeMs === before.mtimeMs) {
        return { sha256: known.sha256, sizeBytes: before.size, hashed: false, hashMs: null };
      }
    }
    const started = performance.now();
    const sha256 = await this.hash(target);
    const hashMs = performance.now() - started;
    const after = await stat(target);
    // Changed while it was read (a copy still running): the digest is of neither version, so it is not remembered.
    if (after.size === before.size && after.mtimeMs === before.mtimeMs) {
      await this.remember(target, { sizeBytes: before.size, mtimeMs: before.mtimeMs, sha256, hashedAt: new Date().toISOString() });
    }
    return { sha256, sizeBytes: before.size, hashed: true, hashMs };
  }

  /** What the record holds for `file`, if anything. */
  async remembered(file: string): Promise<RememberedChecksum | undefined> {
    return (await this.read()).files[path.resolve(file)];
  }

  private async read(): Promise<ChecksumRecordFile> {
    try {
      return ChecksumRecordFile.parse(JSON.parse(await readFile(this.file, 'utf8')));
    } catch {
      // Absent, unreadable or damaged: every file is simply hashed again.
      return { version: 1, files: {} };
    }
  }

  private remember(target: string, checksum: RememberedChecksum): Promise<void> {
    this.writing = this.writing.then(async () => {
      const record = await this.read();
      record.files[target] = checksum;
      const temporary = `${this.file}.${process.pid}.tmp`;
      try {
        await mkdir(path.dirname(this.file), { recursive: true });
        await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`);
        // A rename, so a reader in another process never sees half a file.
        await rename(temporary, this.file);
      } catch {
        // A read-only data folder: the check still ran, the next start hashes again.
        await rm(temporary, { force: true }).catch(() => undefined);
      }
    });
    return this.writing;
  }
}

/** What a file should be: the manifest's size and sha256 (null when the manifest has no checksum for it). */
export interface ExpectedFile {
  path: string;
  sizeBytes: number;
  sha256: string | null;
}

export type FileCheckStatus = 'ok' | 'mismatch' | 'missing' | 'unreadable' | 'no-checksum';

export interface FileCheck {
  status: FileCheckStatus;
  path: string;
  /** Bytes on disk; null when missing. */
  sizeBytes: number | null;
  /** The file's sha256; null when it was not needed (missing, wrong size) or could not be read. */
  sha256: string | null;
  expectedSha256: string | null;
  /** Why it is not ok, e.g. `its sha256 is …, the manifest says …`. */
  reason?: string;
  hashed: boolean;
  hashMs: number | null;
}

/** Compares a file with the manifest: its size first (free), then its sha256 (remembered, or hashed when `rehash`). */
export async function checkFileAgainstManifest(expected: ExpectedFile, record: ModelChecksumRecord, options: { rehash?: boolean } = {}): Promise<FileCheck> {
  const base = { path: expected.path, expectedSha256: expected.sha256, hashed: false, hashMs: null };
  let size: number;
  try {
    const info = await stat(expected.path);
    if (!info.isFile()) return { ...base, status: 'unreadable', sizeBytes: null, sha256: null, reason: 'it is not a regular file' };
    size = info.size;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { ...base, status: 'missing', sizeBytes: null, sha256: null };
    return { ...base, status: 'unreadable', sizeBytes: null, sha256: null, reason: `it cannot be read (${code ?? String(error)})` };
  }
  if (size !== expected.sizeBytes) {
    return { ...base, status: 'mismatch', sizeBytes: size, sha256: null, reason: `it is ${size} bytes, the manifest says ${expected.sizeBytes}` };
  }
  if (expected.sha256 === null) return { ...base, status: 'no-checksum', sizeBytes: size, sha256: null };
  let checksum: FileChecksum;
  try {
    checksum = await record.checksumOf(expected.path, options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ...base, status: 'unreadable', sizeBytes: size, sha256: null, reason: `it cannot be read (${code ?? String(error)})` };
  }
  const { sha256, hashed, hashMs } = checksum;
  if (sha256 === expected.sha256) return { ...base, status: 'ok', sizeBytes: size, sha256, hashed, hashMs };
  return { ...base, status: 'mismatch', sizeBytes: size, sha256, hashed, hashMs, reason: `its sha256 is ${sha256}, the manifest says ${expected.sha256}` };
}

/** The user-facing sentence for a manifest model whose file is not what the manifest says: the file, why, the fixes. */
export function checksumMismatchMessage(id: string, check: FileCheck): string {
  return (
    `${check.path} is not the file the model manifest lists as "${id}" (${check.reason ?? check.status}): it is damaged or another version. ` +
    `Download it again with \`${pullCommand(id)}\`; \`npx assistant models verify\` checks every model.`
  );
}

/**
 * Before a model file is used: when it lives where a manifest model lives, it must have the manifest's size and sha256
 * (hashed once per path, size and mtime). Throws MODEL_CORRUPT naming the file and the fixes. A file of the user's own
 * (any other path) has no manifest checksum to compare with, and passes.
 */
export async function requireManifestChecksum(file: string, record: ModelChecksumRecord, location: ModelLocationOptions = {}): Promise<void> {
  const entry = manifestFileEntryAt(file, location);
  if (entry === undefined) return;
  const check = await checkFileAgainstManifest({ path: path.resolve(file), sizeBytes: entry.sizeBytes, sha256: entry.sha256 }, record);
  // An unreadable file is left to the loader, whose own check names the problem (permissions).
  if (check.status === 'mismatch') throw new AgentError('MODEL_CORRUPT', checksumMismatchMessage(entry.id, check));
}
