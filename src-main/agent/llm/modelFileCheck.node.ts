import { lstatSync, readdirSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/**
 * Cheap checks on a model path before a native loader sees it, so that every way a path can be wrong (missing, a
 * directory, a symlink loop, unreadable, empty, not a model, cut short) gets a sentence that names the path, instead
 * of EISDIR, a JS TypeError from a metadata parser, or a native abort.
 */

/** Why a path is not a regular file. `reason` is a clause that starts with the path. */
export interface PathProblem {
  /** 'missing': nothing usable is at the path at all; 'unusable': something is there, but not a readable file. */
  kind: 'missing' | 'directory' | 'unusable';
  reason: string;
}

export interface ExpectedModelFile {
  /** e.g. ".gguf"; used to suggest a file inside a directory. */
  extension: string;
  /** What the user should give instead, e.g. "--model / ASSISTANT_LLM_MODEL needs a .gguf file". */
  needs: string;
}

/** Undefined when `file` is a regular file (after following symlinks); otherwise what is wrong with it. */
export function modelPathProblem(file: string, expected: ExpectedModelFile): PathProblem | undefined {
  let info;
  try {
    info = statSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return { kind: 'unusable', reason: `${file} is a symbolic link that loops back on itself, so it never reaches a file` };
    if (code === 'EACCES' || code === 'EPERM') {
      return { kind: 'unusable', reason: `${file} cannot be reached: permission denied on it or on a directory above it` };
    }
    if (code === 'ENOTDIR') {
      const trimmed = file.replace(/[\\/]+$/, '');
      if (trimmed !== file && trimmed !== '' && isRegularFile(trimmed)) {
        return { kind: 'missing', reason: `${file} ends in a slash, but ${trimmed} is a file, not a directory; leave out the trailing slash` };
      }
      return { kind: 'missing', reason: `${file} does not exist (a part of the path before the file name is a file, not a directory)` };
    }
    if (code === 'ENAMETOOLONG') return { kind: 'missing', reason: `${file} is not a usable path: it is too long` };
    if (isDanglingSymlink(file)) return { kind: 'missing', reason: `${file} is a symbolic link to something that does not exist` };
    return { kind: 'missing', reason: `${file} does not exist` };
  }
  if (info.isDirectory()) {
    const inside = firstFileWithExtension(file, expected.extension);
    return {
      kind: 'directory',
      reason: inside === undefined
        ? `${file} is a directory (with no ${expected.extension} file in it); ${expected.needs}`
        : `${file} is a directory; ${expected.needs}, e.g. ${inside}`,
    };
  }
  if (!info.isFile()) return { kind: 'unusable', reason: `${file} is not a regular file (it is a device, FIFO or socket)` };
  return undefined;
}

function isRegularFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function isDanglingSymlink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

function firstFileWithExtension(dir: string, extension: string): string | undefined {
  try {
    const names = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.name.toLowerCase().endsWith(extension.toLowerCase()) && (entry.isFile() || entry.isSymbolicLink()))
      .map((entry) => entry.name)
      .sort();
    return names[0] === undefined ? undefined : path.join(dir, names[0]);
  } catch {
    return undefined;
  }
}

/** Thrown by `inspectGguf` when the file cannot be a usable GGUF model. `reason` says why, without the path. */
export class GgufProblem extends Error {
  constructor(
    readonly kind: 'unreadable' | 'empty' | 'not-gguf' | 'unsupported' | 'damaged',
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'GgufProblem';
  }
}

export interface GgufSummary {
  version: number;
  tensorCount: number;
  metadataCount: number;
  architecture: string;
}

/**
 * Bytes per block and elements per block of the ggml tensor types (checked against node-llama-cpp's bundled
 * llama.cpp: getTypeSizeForGgmlType / getBlockSizeForGgmlType). Types not listed are not size-checked.
 */
const GGML_TYPE_LAYOUT: ReadonlyMap<number, { blockBytes: number; blockElements: number }> = new Map([
  [0, { blockBytes: 4, blockElements: 1 }], // F32
  [1, { blockBytes: 2, blockElements: 1 }], // F16
  [2, { blockBytes: 18, blockElements: 32 }], // Q4_0
  [3, { blockBytes: 20, blockElements: 32 }], // Q4_1
  [6, { blockBytes: 22, blockElements: 32 }], // Q5_0
  [7, { blockBytes: 24, blockElements: 32 }], // Q5_1
  [8, { blockBytes: 34, blockElements: 32 }], // Q8_0
  [9, { blockBytes: 36, blockElements: 32 }], // Q8_1
  [10, { blockBytes: 84, blockElements: 256 }], // Q2_K
  [11, { blockBytes: 110, blockElements: 256 }], // Q3_K
  [12, { blockBytes: 144, blockElements: 256 }], // Q4_K
  [13, { blockBytes: 176, blockElements: 256 }], // Q5_K
  [14, { blockBytes: 210, blockElements: 256 }], // Q6_K
  [15, { blockBytes: 292, blockElements: 256 }], // Q8_K
  [16, { blockBytes: 66, blockElements: 256 }], // IQ2_XXS
  [17, { blockBytes: 74, blockElements: 256 }], // IQ2_XS
  [18, { blockBytes: 98, blockElements: 256 }], // IQ3_XXS
  [19, { blockBytes: 50, blockElements: 256 }], // IQ1_S
  [20, { blockBytes: 18, blockElements: 32 }], // IQ4_NL
  [21, { blockBytes: 110, blockElements: 256 }], // IQ3_S
  [22, { blockBytes: 82, blockElements: 256 }], // IQ2_S
  [23, { blockBytes: 136, blockElements: 256 }], // IQ4_XS
  [24, { blockBytes: 1, blockElements: 1 }], // I8
  [25, { blockBytes: 2, blockElements: 1 }], // I16
  [26, { blockBytes: 4, blockElements: 1 }], // I32
  [27, { blockBytes: 8, blockElements: 1 }], // I64
  [28, { blockBytes: 8, blockElements: 1 }], // F64
  [29, { blockBytes: 56, blockElements: 256 }], // IQ1_M
  [30, { blockBytes: 2, blockElements: 1 }], // BF16
  [34, { blockBytes: 54, blockElements: 256 }], // TQ1_0
  [35, { blockBytes: 66, blockElements: 256 }], // TQ2_0
  [39, { blockBytes: 17, blockElements: 32 }], // MXFP4
]);

/** Sizes of GGUF metadata value types with a fixed size (type id → bytes). 8 = string and 9 = array are variable. */
const FIXED_VALUE_BYTES: ReadonlyMap<number, number> = new Map([
  [0, 1], [1, 1], [2, 2], [3, 2], [4, 4], [5, 4], [6, 4], [7, 1], [10, 8], [11, 8], [12, 8],
]);

const MAX_COUNT = 10_000_000;
const MAX_KEY_BYTES = 65_535;
const MAX_DIMS = 4;

/**
 * Reads a GGUF file's header, metadata and tensor table (a few MB at most, even for large models) and checks that
 * they hang together: the magic, a supported version, plausible counts, every record inside the file, a
 * `general.architecture`, and tensor data that fits in the file. Throws GgufProblem when anything is off.
 * It does not read the weights, so it cannot catch damage inside them; llama.cpp's own load reports that.
 */
export async function inspectGguf(file: string): Promise<GgufSummary> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw new GgufProblem('unreadable', 'it cannot be read: permission denied');
    throw new GgufProblem('unreadable', `it cannot be opened (${code ?? 'unknown error'})`);
  }
  try {
    const size = (await handle.stat()).size;
    const reader = new BufferedReader(handle, size);
    return await parseGguf(reader, size);
  } finally {
    await handle.close();
  }
}

async function parseGguf(reader: BufferedReader, size: number): Promise<GgufSummary> {
  if (size === 0) throw new GgufProblem('empty', 'it is empty: 0 bytes');
  const head = await reader.peek(Math.min(size, 64));
  if (head.length < 4 || head.toString('latin1', 0, 4) !== 'GGUF') throw new GgufProblem('not-gguf', notGgufReason(head, size));
  if (size < 24) throw new GgufProblem('damaged', `it is only ${size} bytes, too short for even the GGUF header: it is truncated`);
  reader.skipBytes(4);
  const version = await reader.u32();
  if (version === 1) throw new GgufProblem('unsupported', 'it is GGUF version 1, which llama.cpp no longer loads; get a newer conversion of the model');
  if (version !== 2 && version !== 3) {
    const swapped = Buffer.alloc(4);
    swapped.writeUInt32BE(version);
    const bigEndian = swapped.readUInt32LE() === 2 || swapped.readUInt32LE() === 3;
    throw new GgufProblem(
      bigEndian ? 'unsupported' : 'damaged',
      bigEndian ? 'it is a big-endian GGUF file, which this machine cannot load' : `its header says GGUF version ${version}, which does not exist: the header is damaged`,
    );
  }
  const tensorCount = await reader.u64();
  const metadataCount = await reader.u64();
  if (tensorCount === 0) throw new GgufProblem('damaged', 'its header lists no tensors: it is truncated or damaged');
  // Every tensor record takes at least 32 bytes and every metadata record at least 13, so the counts are bounded by the size.
  if (tensorCount > MAX_COUNT || tensorCount * 32 > size) {
    throw new GgufProblem('damaged', `its header claims ${tensorCount} tensors, more than a ${size}-byte file can hold`);
  }
  if (metadataCount > MAX_COUNT || metadataCount * 13 > size) {
    throw new GgufProblem('damaged', `its header claims ${metadataCount} metadata entries, more than a ${size}-byte file can hold`);
  }

  let architecture: string | undefined;
  let alignment = 32;
  for (let index = 0; index < metadataCount; index += 1) {
    const key = await reader.string(MAX_KEY_BYTES, 'a metadata key');
    const type = await reader.u32();
    if (key === 'general.architecture' && type === 8) {
      architecture = await reader.string(1024, 'general.architecture');
    } else if (key === 'general.alignment' && type === 4) {
      alignment = await reader.u32();
    } else {
      await skipValue(reader, type, key, 0);
    }
  }
  if (architecture === undefined || architecture.trim() === '') {
    throw new GgufProblem('damaged', 'its metadata has no general.architecture, so llama.cpp cannot tell what kind of model it is');
  }
  if (alignment === 0 || alignment % 8 !== 0 || alignment > 1 << 20) {
    throw new GgufProblem('damaged', `its general.alignment is ${alignment}, which is not valid`);
  }

  let dataBytesNeeded = 0;
  for (let index = 0; index < tensorCount; index += 1) {
    const name = await reader.string(MAX_KEY_BYTES, 'a tensor name');
    const dims = await reader.u32();
    if (dims < 1 || dims > MAX_DIMS) throw new GgufProblem('damaged', `tensor "${printable(name)}" has ${dims} dimensions: the tensor table is damaged`);
    let elements = 1;
    for (let dim = 0; dim < dims; dim += 1) elements *= await reader.u64();
    const type = await reader.u32();
    const offset = await reader.u64();
    if (type > 255) throw new GgufProblem('damaged', `tensor "${printable(name)}" has type ${type}: the tensor table is damaged`);
    const layout = GGML_TYPE_LAYOUT.get(type);
    const bytes = layout === undefined ? 0 : Math.ceil(elements / layout.blockElements) * layout.blockBytes;
    dataBytesNeeded = Math.max(dataBytesNeeded, offset + bytes);
  }
  const dataStart = Math.ceil(reader.position / alignment) * alignment;
  if (dataStart + dataBytesNeeded > size) {
    throw new GgufProblem(
      'damaged',
      `it is ${size} bytes, but its tensors need at least ${dataStart + dataBytesNeeded}: it is truncated, e.g. by an interrupted download or copy`,
    );
  }
  return { version, tensorCount, metadataCount, architecture };
}

async function skipValue(reader: BufferedReader, type: number, key: string, depth: number): Promise<void> {
  const fixed = FIXED_VALUE_BYTES.get(type);
  if (fixed !== undefined) {
    await reader.skip(fixed);
    return;
  }
  if (type === 8) {
    const length = await reader.u64();
    await reader.skip(length);
    return;
  }
  if (type === 9 && depth < 4) {
    const elementType = await reader.u32();
    const count = await reader.u64();
    const elementBytes = FIXED_VALUE_BYTES.get(elementType);
    if (elementBytes !== undefined) {
      await reader.skip(count * elementBytes);
      return;
    }
    if (elementType !== 8 && elementType !== 9) throw new GgufProblem('damaged', `metadata "${printable(key)}" has an array of unknown type ${elementType}: the metadata is damaged`);
    // Each string or array element takes at least 8 bytes.
    if (count * 8 > reader.remaining) throw new GgufProblem('damaged', `metadata "${printable(key)}" claims ${count} entries, more than the file holds: it is truncated or damaged`);
    for (let index = 0; index < count; index += 1) await skipValue(reader, elementType, key, depth + 1);
    return;
  }
  throw new GgufProblem('damaged', `metadata "${printable(key)}" has unknown value type ${type}: the metadata is damaged`);
}

function notGgufReason(head: Buffer, size: number): string {
  const text = head.toString('latin1');
  const ascii = text.slice(0, 4);
  if (['lmgg', 'fmgg', 'tjgg', 'algg'].includes(ascii)) {
    return 'it is in the old GGML format, which llama.cpp no longer loads; get the model as a .gguf file';
  }
  if (/^\s*</.test(text)) return `it is ${size} bytes of HTML or XML, not a model: probably a web page saved in place of the download`;
  if (text.startsWith('version https://git-lfs')) return 'it is a Git LFS pointer file, not the model itself';
  if (text.startsWith('PK\u0003\u0004')) return 'it is a ZIP archive; unpack it and use the .gguf file inside';
  if (size < 4) return `it is only ${size} bytes, too short to be a model`;
  return 'it does not start with the GGUF signature, so it is not a GGUF file';
}

function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 80);
}

/** Sequential reads through a file in 1 MiB chunks; any read past the end is reported as a truncated file. */
class BufferedReader {
  private buffer = Buffer.alloc(0);
  private bufferStart = 0;
  position = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly size: number,
  ) {}

  get remaining(): number {
    return this.size - this.position;
  }

  async peek(length: number): Promise<Buffer> {
    await this.ensure(length);
    return this.buffer.subarray(this.position - this.bufferStart, this.position - this.bufferStart + length);
  }

  skipBytes(length: number): void {
    this.position += length;
  }

  async skip(length: number): Promise<void> {
    if (length > this.remaining) throw truncated();
    this.position += length;
  }

  async u32(): Promise<number> {
    return (await this.take(4)).readUInt32LE(0);
  }

  async u64(): Promise<number> {
    const value = (await this.take(8)).readBigUInt64LE(0);
    // Anything past 2^53 is nonsense for a file on disk; clamp so the plausibility checks reject it.
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
  }

  async string(maxBytes: number, what: string): Promise<string> {
    const length = await this.u64();
    if (length > maxBytes) {
      if (length > this.remaining) throw truncated();
      throw new GgufProblem('damaged', `${what} is ${length} bytes long: the file is damaged`);
    }
    return (await this.take(length)).toString('utf8');
  }

  private async take(length: number): Promise<Buffer> {
    if (length > this.remaining) throw truncated();
    await this.ensure(length);
    const start = this.position - this.bufferStart;
    this.position += length;
    return this.buffer.subarray(start, start + length);
  }

  private async ensure(length: number): Promise<void> {
    const bufferEnd = this.bufferStart + this.buffer.length;
    if (this.position >= this.bufferStart && this.position + length <= bufferEnd) return;
    const want = Math.min(Math.max(length, 1 << 20), this.size - this.position);
    const chunk = Buffer.alloc(want);
    let filled = 0;
    while (filled < want) {
      const { bytesRead } = await this.handle.read(chunk, filled, want - filled, this.position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    this.buffer = chunk.subarray(0, filled);
    this.bufferStart = this.position;
    if (filled < Math.min(length, want)) throw truncated();
  }
}

function truncated(): GgufProblem {
  return new GgufProblem('damaged', 'it ends in the middle of its header: it is truncated, e.g. by an interrupted download or copy');
}
