import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_LLM_MODEL } from '../testing/agentTestSupport.js';
import { cliBuilt, runAssistantCli } from '../testing/cliProcess.js';
import { damagedCopy, storiesCopyEntry } from '../testing/damagedModel.js';

/**
 * Issue 11: a GGUF with 200 KiB overwritten at offset 300,000 loaded and "answered" 512 tokens of nothing, exit code 0.
 * Here, with the real CLI: a damaged manifest model is refused at start (checksum), and one that is not in the manifest
 * (or slips past the check) fails its turn with a clear error instead of an empty answer.
 */
const pristine = readFileSync(TEST_LLM_MODEL);
const pristineSha256 = createHash('sha256').update(pristine).digest('hex');
const damaged = damagedCopy(pristine);
const damagedSha256 = createHash('sha256').update(damaged).digest('hex');
const STACK_FRAME = /^\s+at /m;

let dir: string;
let env: NodeJS.ProcessEnv;
let damagedFile: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'damaged-model-chat-'));
  const modelsDir = path.join(dir, 'models');
  mkdirSync(path.join(modelsDir, 'llm'), { recursive: true });
  damagedFile = path.join(modelsDir, 'llm', 'stories-damaged.gguf');
  writeFileSync(damagedFile, damaged);
  writeFileSync(path.join(modelsDir, 'llm', 'stories-copy.gguf'), pristine);
  const entry = (id: string) => storiesCopyEntry(id, pristine, pristineSha256);
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify([entry('stories-damaged'), entry('stories-copy')]));
  env = {
    ASSISTANT_MODELS_MANIFEST: path.join(dir, 'manifest.json'),
    ASSISTANT_MODELS_DIR: modelsDir,
    ASSISTANT_LLM_MODEL: '',
    ASSISTANT_DEBUG: '',
    // Nothing listens there: the fallback to Ollama fails at once.
    OLLAMA_HOST: 'http://127.0.0.1:9',
  };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function chat(model: string, dataDir: string, json = true) {
  const args = ['chat', ...(json ? ['--json'] : []), '--model', model, '--provider', 'embedded', '--threads', '1', '--data-dir', dataDir, 'Once upon a time'];
  return runAssistantCli(args, { env, deadlineMs: 60_000 });
}

function errorsOf(run: { events: Array<Record<string, unknown>> }) {
  return run.events.filter((event) => event.type === 'error') as Array<{ code: string; message: string }>;
}

function expectNoAnswerAndNoStack(run: { events: Array<Record<string, unknown>>; stdout: string; stderr: string }) {
  expect(run.events.filter((event) => event.type === 'done')).toEqual([]);
  expect(run.stdout).not.toMatch(STACK_FRAME);
  expect(run.stderr).not.toMatch(STACK_FRAME);
}

const recordOf = (dataDir: string) =>
  JSON.parse(readFileSync(path.join(dataDir, 'model-checksums.json'), 'utf8')) as { version: 1; files: Record<string, { sha256: string; hashedAt: string }> };

describe.skipIf(!cliBuilt)('chat with a damaged model (spawned CLI)', () => {
  it('a damaged manifest model is refused at start; the remembered digest is trusted until the mtime changes', async () => {
    const dataDir = path.join(dir, 'profile-manifest');
    const first = await chat('stories-damaged', dataDir);
    expect(first.code).toBe(1);
    expectNoAnswerAndNoStack(first);
    const errors = errorsOf(first);
    expect(errors.map((error) => error.code)).toEqual(['MODEL_CORRUPT']);
    expect(errors[0]!.message).toBe(
      `${damagedFile} is not the file the model manifest lists as "stories-damaged" (its sha256 is ${damagedSha256}, the manifest says ${pristineSha256}): ` +
        'it is damaged or another version. Download it again with `npx assistant models pull stories-damaged`; `npx assistant models verify` checks every model.',
    );
    expect(recordOf(dataDir).files[damagedFile]?.sha256).toBe(damagedSha256);

    // The next start reads the record, not the file: told that the file is the pristine one, it does not hash it again,
    // so the damaged weights are loaded and the turn fails on its empty output instead.
    const record = recordOf(dataDir);
    record.files[damagedFile]!.sha256 = pristineSha256;
    writeFileSync(path.join(dataDir, 'model-checksums.json'), JSON.stringify(record));
    const trusted = await chat('stories-damaged', dataDir);
    expect(trusted.code).toBe(1);
    expectNoAnswerAndNoStack(trusted);
    expect(errorsOf(trusted).map((error) => error.code)).toEqual(['GENERATION_FAILED']);
    expect(recordOf(dataDir).files[damagedFile]?.sha256).toBe(pristineSha256);

    // A new mtime: the record no longer applies, the file is hashed again and refused.
    const { mtime } = statSync(damagedFile);
    utimesSync(damagedFile, mtime, new Date(mtime.getTime() + 60_000));
    const touched = await chat('stories-damaged', dataDir);
    expect(touched.code).toBe(1);
    expect(errorsOf(touched).map((error) => error.code)).toEqual(['MODEL_CORRUPT']);
    expect(recordOf(dataDir).files[damagedFile]?.sha256).toBe(damagedSha256);
  });

  it('a damaged model given as a path of its own: the turn fails with GENERATION_FAILED suggesting verify, not an empty answer with exit 0', async () => {
    const own = path.join(dir, 'own', 'stories-damaged.gguf');
    mkdirSync(path.dirname(own), { recursive: true });
    writeFileSync(own, damaged);

    const json = await chat(own, path.join(dir, 'profile-own-json'));
    expect(json.code).toBe(1);
    expectNoAnswerAndNoStack(json);
    const errors = errorsOf(json);
    expect(errors.map((error) => error.code)).toEqual(['GENERATION_FAILED']);
    expect(errors[0]!.message).toContain(`${own} generated 512 tokens but no text`);
    expect(errors[0]!.message).toContain(`\`npx assistant models verify ${own}\``);

    const text = await chat(own, path.join(dir, 'profile-own-text'), false);
    expect(text.code).toBe(1);
    expect(text.stdout.trim()).toBe('');
    expect(text.stderr).toContain(`Error (GENERATION_FAILED): ${own} generated 512 tokens but no text`);
    expect(text.stderr).not.toMatch(STACK_FRAME);
  });

  it('the pristine copy in the same setup answers, exit 0, and its digest is remembered', async () => {
    const dataDir = path.join(dir, 'profile-pristine');
    const run = await chat('stories-copy', dataDir);
    expect(run.code).toBe(0);
    const done = run.events.filter((event) => event.type === 'done') as Array<{ text: string }>;
    expect(done).toHaveLength(1);
    expect(done[0]!.text.trim()).not.toBe('');
    expect(recordOf(dataDir).files[path.join(dir, 'models', 'llm', 'stories-copy.gguf')]?.sha256).toBe(pristineSha256);
  });
});
