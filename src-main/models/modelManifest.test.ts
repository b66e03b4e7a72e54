import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidSettingError } from '../agent/agentSettings.node.js';
import { findManifestEntry, ModelRole, parseModelManifest, type ModelManifestEntry } from './modelManifest.js';
import { knownModelManifest, loadKnownModels, loadModelManifest, modelManifestPath } from './modelManifest.node.js';
import { resolveDefaultModel } from './modelResolver.node.js';
import { projectRoot, sharedModelsDir } from './projectPaths.node.js';

const validEntry: ModelManifestEntry = {
  id: 'example',
  role: 'vad',
  file: 'vad/example.bin',
  url: 'https://example.org/example.bin',
  sizeBytes: 10,
  sha256: 'a'.repeat(64),
  license: 'MIT',
  description: 'An example.',
};

describe('models/manifest.json', () => {
  const manifest = loadModelManifest();

  it('is found at <project>/models/manifest.json from this source file', () => {
    expect(existsSync(path.join(projectRoot(), 'package.json'))).toBe(true);
    expect(modelManifestPath()).toBe(path.join(projectRoot(), 'models', 'manifest.json'));
  });

  it('has unique ids and exactly one user default per role, none of them test-only', () => {
    const ids = manifest.map((entry) => entry.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const role of ModelRole.options) {
      const defaults = manifest.filter((entry) => entry.role === role && entry.default);
      expect(defaults, `default for ${role}`).toHaveLength(1);
      expect(defaults[0]?.testOnly).toBeUndefined();
    }
  });

  it('gives every model a checksum to verify downloads against', () => {
    for (const entry of manifest) {
      expect(entry.sha256 ?? entry.sha1, entry.id).toBeTruthy();
    }
  });

  it.each([
    ['stories260k', 'llm/stories260K.gguf'],
    ['silero-vad', 'vad/silero-v6.2.0-ggml.bin'],
  ])('matches the real shared file for %s (size and sha256 computed here)', (id, file) => {
    const entry = manifest.find((model) => model.id === id);
    const sharedFile = path.join(sharedModelsDir(), file);
    expect(entry?.file).toBe(file);
    expect(entry?.sizeBytes).toBe(statSync(sharedFile).size);
    expect(entry?.sha256).toBe(createHash('sha256').update(readFileSync(sharedFile)).digest('hex'));
  });
});

describe('parseModelManifest', () => {
  it('accepts a valid entry', () => {
    expect(parseModelManifest([validEntry], 'test')).toEqual([validEntry]);
  });

  it.each([
    ['a duplicate id', [validEntry, validEntry], 'duplicate model id "example"'],
    ['a path escaping the models dir', [{ ...validEntry, file: '../outside.bin' }], 'relative path inside the models dir'],
    ['an absolute path', [{ ...validEntry, file: '/etc/passwd' }], 'relative path inside the models dir'],
    ['a short sha256', [{ ...validEntry, sha256: 'abc' }], '64 lowercase hex'],
    ['a non-http url', [{ ...validEntry, url: 'file:///tmp/x.bin' }], 'Invalid URL'],
    ['an unknown field', [{ ...validEntry, checksum: 'x' }], 'checksum'],
    ['two defaults for a role', [{ ...validEntry, default: true }, { ...validEntry, id: 'other', default: true }], 'at most one'],
    ['a test-only default', [{ ...validEntry, default: true, testOnly: true }], 'test-only'],
  ])('rejects %s, naming the problem and the source', (_, raw, problem) => {
    expect(() => parseModelManifest(raw, 'models/manifest.json')).toThrow(/models\/manifest\.json/);
    expect(() => parseModelManifest(raw, 'models/manifest.json')).toThrow(problem);
  });

  it('allows a null sha256 (unverifiable upstream file)', () => {
    expect(parseModelManifest([{ ...validEntry, sha256: null }], 'test')[0]?.sha256).toBeNull();
  });
});

describe('a user manifest (ASSISTANT_MODELS_MANIFEST)', () => {
  const builtIn = loadModelManifest();
  const builtInDefault = builtIn.find((entry) => entry.role === 'llm' && entry.default)!;
  const mirrorEntry: ModelManifestEntry = {
    id: 'team-chat',
    role: 'llm',
    file: 'llm/team-chat.gguf',
    url: 'https://mirror.example.org/team-chat.gguf',
    sizeBytes: 1234,
    sha256: 'b'.repeat(64),
    license: 'Apache-2.0',
    description: 'The team chat model, from the internal mirror.',
  };

  function withUserManifest(content: unknown): NodeJS.ProcessEnv {
    const dir = mkdtempSync(path.join(tmpdir(), 'user-manifest-'));
    const file = path.join(dir, 'models.json');
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return { ASSISTANT_MODELS_MANIFEST: file };
  }

  it('is not needed: unset (or empty) means the built-in manifest alone', () => {
    expect(loadKnownModels({}).manifest).toEqual(builtIn);
    expect(loadKnownModels({ ASSISTANT_MODELS_MANIFEST: '' }).fromUserManifest.size).toBe(0);
  });

  it('adds new models at the end, marked as coming from the user manifest', () => {
    const known = loadKnownModels(withUserManifest([mirrorEntry]));
    expect(known.manifest.slice(0, builtIn.length)).toEqual(builtIn);
    expect(known.manifest.at(-1)).toEqual(mirrorEntry);
    expect([...known.fromUserManifest]).toEqual(['team-chat']);
  });

  it('replaces a built-in entry with the same id, in its place (a mirror URL), and it stays the default', () => {
    const mirrored = { ...builtInDefault, url: 'https://mirror.example.org/qwen.gguf' };
    delete (mirrored as Partial<ModelManifestEntry>).default;
    const known = loadKnownModels(withUserManifest([mirrored]));
    const index = builtIn.findIndex((entry) => entry.id === builtInDefault.id);
    expect(known.manifest[index]).toEqual({ ...mirrored, default: true });
    expect(known.manifest).toHaveLength(builtIn.length);
  });

  it('a user default becomes the only default of its role, and the resolver uses it', () => {
    const env = withUserManifest([{ ...mirrorEntry, default: true }]);
    const known = loadKnownModels(env);
    expect(known.manifest.filter((entry) => entry.role === 'llm' && entry.default).map((entry) => entry.id)).toEqual(['team-chat']);
    const project = mkdtempSync(path.join(tmpdir(), 'user-manifest-project-'));
    const resolution = resolveDefaultModel('llm', { env, projectRoot: project });
    expect(resolution).toMatchObject({ found: false, id: 'team-chat' });
    expect(findManifestEntry(knownModelManifest(env), 'team-chat')?.url).toBe(mirrorEntry.url);
  });

  it.each([
    ['a missing file', undefined, 'the file does not exist'],
    ['a file that is not JSON', '[{"id": ', 'Cannot read the model manifest'],
    ['an object instead of a list', { models: [] }, 'expected array'],
    ['an entry with a bad checksum', [{ ...mirrorEntry, sha256: 'abc' }], '[0].sha256: must be 64 lowercase hex characters'],
    ['an entry with an unknown field', [{ ...mirrorEntry, mirror: true }], 'mirror'],
    ['two defaults for one role', [{ ...mirrorEntry, default: true }, { ...mirrorEntry, id: 'other', default: true }], 'at most one'],
    ['a test-only model as the default', [{ ...mirrorEntry, default: true, testOnly: true }], 'test-only'],
    ['a replaced default that became test-only', [{ ...builtInDefault, default: undefined, testOnly: true }], 'test-only'],
    ['a file that is the manifest itself', [{ ...mirrorEntry, file: 'manifest.json' }], '[0].file: model "team-chat": file "manifest.json" must be a .gguf file inside llm/'],
    ['a chat model outside llm/', [{ ...mirrorEntry, file: 'whisper/x.gguf' }], 'model "team-chat": file "whisper/x.gguf" must be a .gguf file inside llm/'],
    ['a chat model without the .gguf extension', [{ ...mirrorEntry, file: 'llm/x.gguf.partial' }], 'must be a .gguf file inside llm/'],
    ['a Whisper model outside whisper/', [{ ...mirrorEntry, role: 'stt-whisper', file: 'vad/x.bin' }], 'must be a .bin file inside whisper/'],
    ['a VAD model that is not a .bin', [{ ...mirrorEntry, role: 'vad', file: 'vad/notes.txt' }], 'must be a .bin file inside vad/'],
  ])('rejects %s with one line naming the file and the problem', (_, content, problem) => {
    const env = content === undefined ? { ASSISTANT_MODELS_MANIFEST: path.join(tmpdir(), 'no-such-dir', 'models.json') } : withUserManifest(content);
    const file = env.ASSISTANT_MODELS_MANIFEST!;
    let error: unknown;
    try {
      loadKnownModels(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidSettingError);
    const message = (error as Error).message;
    expect(message).toContain(file);
    expect(message).toContain('ASSISTANT_MODELS_MANIFEST');
    expect(message).toContain(problem);
    expect(message).not.toContain('\n');
  });
});
