import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_LLM_MODEL } from '../../testing/agentTestSupport.js';
import { GgufProblem, inspectGguf, modelPathProblem } from './modelFileCheck.node.js';

const dir = mkdtempSync(path.join(tmpdir(), 'model-file-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => path.join(dir, name);
const GGUF = { extension: '.gguf', needs: '--model needs a .gguf file' };
const real = readFileSync(TEST_LLM_MODEL);

/** "GGUF", version 3, then zeros up to `size` bytes: what a download cut off after its first packet looks like. */
function ggufStub(size = 64): Buffer {
  const bytes = Buffer.alloc(size);
  bytes.write('GGUF', 0, 'latin1');
  bytes.writeUInt32LE(3, 4);
  return bytes;
}

async function problemOf(file: string): Promise<GgufProblem> {
  const error = await inspectGguf(file).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(GgufProblem);
  return error as GgufProblem;
}

describe('inspectGguf', () => {
  it('accepts the real test model and reads its header', async () => {
    await expect(inspectGguf(TEST_LLM_MODEL)).resolves.toMatchObject({ version: 3, architecture: 'llama', tensorCount: 48 });
  });

  it('rejects a 64-byte GGUF stub, an empty file and files that are not GGUF, each with its reason', async () => {
    writeFileSync(at('stub.gguf'), ggufStub());
    expect((await problemOf(at('stub.gguf'))).reason).toMatch(/truncated or damaged/);
    writeFileSync(at('empty.gguf'), '');
    expect(await problemOf(at('empty.gguf'))).toMatchObject({ kind: 'empty', reason: expect.stringContaining('empty') });
    writeFileSync(at('text.gguf'), 'this is not a gguf file, just text pretending to be one');
    expect(await problemOf(at('text.gguf'))).toMatchObject({ kind: 'not-gguf' });
    writeFileSync(at('page.gguf'), '<!DOCTYPE html><html><body>Rate limited</body></html>');
    expect((await problemOf(at('page.gguf'))).reason).toMatch(/HTML/);
    writeFileSync(at('pointer.gguf'), 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1185376\n');
    expect((await problemOf(at('pointer.gguf'))).reason).toMatch(/Git LFS pointer/);
    writeFileSync(at('tiny.gguf'), 'GG');
    expect(await problemOf(at('tiny.gguf'))).toMatchObject({ kind: 'not-gguf' });
    const v1 = Buffer.from(real);
    v1.writeUInt32LE(1, 4);
    writeFileSync(at('v1.gguf'), v1);
    expect(await problemOf(at('v1.gguf'))).toMatchObject({ kind: 'unsupported' });
  });

  it('rejects the real model cut short at any length, always as a GgufProblem', async () => {
    const cut = at('cut.gguf');
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: real.length - 1 }), async (length) => {
        writeFileSync(cut, real.subarray(0, length));
        await problemOf(cut);
      }),
      { numRuns: 150 },
    );
    // The last byte matters too: the tensor data must end inside the file.
    writeFileSync(cut, real.subarray(0, real.length - 1));
    expect((await problemOf(cut)).reason).toMatch(/truncated/);
  });

  it('never fails with anything but a GgufProblem on garbage after a valid signature, or on a damaged header', async () => {
    const file = at('fuzz.gguf');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 4096 }), async (tail) => {
        writeFileSync(file, Buffer.concat([ggufStub(8), tail]));
        await problemOf(file);
      }),
      { numRuns: 150 },
    );
    // Random bytes overwritten inside the header and metadata of the real model: accepted or a GgufProblem, nothing else.
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 4, max: 8191 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), async (edits) => {
        const bytes = Buffer.from(real);
        for (const [offset, value] of edits) bytes[offset] = value;
        writeFileSync(file, bytes);
        const outcome = await inspectGguf(file).catch((caught: unknown) => caught);
        if (outcome instanceof Error) expect(outcome).toBeInstanceOf(GgufProblem);
      }),
      { numRuns: 150 },
    );
  });

  it.skipIf(process.getuid?.() === 0)('reports a file it may not read', async () => {
    const locked = at('locked.gguf');
    copyFileSync(TEST_LLM_MODEL, locked);
    chmodSync(locked, 0o000);
    try {
      expect(await problemOf(locked)).toMatchObject({ kind: 'unreadable', reason: expect.stringContaining('permission denied') });
    } finally {
      chmodSync(locked, 0o644);
    }
  });
  if (process.getuid?.() === 0) console.warn('Skipping the unreadable-file case: running as root, which reads a chmod 000 file anyway.');
});

describe('modelPathProblem', () => {
  it('is undefined for a regular file, and for a symlink to one', () => {
    symlinkSync(TEST_LLM_MODEL, at('link.gguf'));
    expect(modelPathProblem(TEST_LLM_MODEL, GGUF)).toBeUndefined();
    expect(modelPathProblem(at('link.gguf'), GGUF)).toBeUndefined();
  });

  it('names a directory and suggests the first model file inside it, with or without a trailing slash', () => {
    const models = at('models');
    mkdirSync(models);
    writeFileSync(path.join(models, 'notes.txt'), 'x');
    expect(modelPathProblem(models, GGUF)).toEqual({ kind: 'directory', reason: `${models} is a directory (with no .gguf file in it); --model needs a .gguf file` });
    writeFileSync(path.join(models, 'b.gguf'), 'x');
    writeFileSync(path.join(models, 'a.gguf'), 'x');
    const expected = { kind: 'directory', reason: `${models} is a directory; --model needs a .gguf file, e.g. ${path.join(models, 'a.gguf')}` };
    expect(modelPathProblem(models, GGUF)).toEqual(expected);
    expect(modelPathProblem(`${models}/`, GGUF)?.reason).toContain(`e.g. ${path.join(models, 'a.gguf')}`);
  });

  it('tells a missing file, a dangling symlink, a symlink loop, a file used as a directory and a device apart', () => {
    expect(modelPathProblem(at('absent.gguf'), GGUF)).toEqual({ kind: 'missing', reason: `${at('absent.gguf')} does not exist` });
    symlinkSync(at('nowhere.gguf'), at('dangling.gguf'));
    expect(modelPathProblem(at('dangling.gguf'), GGUF)?.reason).toMatch(/symbolic link to something that does not exist/);
    symlinkSync(at('loop-b'), at('loop-a'));
    symlinkSync(at('loop-a'), at('loop-b'));
    expect(modelPathProblem(at('loop-a'), GGUF)).toMatchObject({ kind: 'unusable', reason: expect.stringContaining('loops back on itself') });
    writeFileSync(at('plain'), 'x');
    expect(modelPathProblem(path.join(at('plain'), 'model.gguf'), GGUF)?.kind).toBe('missing');
    expect(modelPathProblem(`${at('plain')}/`, GGUF)).toEqual({
      kind: 'missing',
      reason: `${at('plain')}/ ends in a slash, but ${at('plain')} is a file, not a directory; leave out the trailing slash`,
    });
    expect(modelPathProblem('/dev/null', GGUF)).toMatchObject({ kind: 'unusable', reason: expect.stringContaining('not a regular file') });
  });
});
