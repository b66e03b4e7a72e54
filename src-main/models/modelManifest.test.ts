import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidSettingError } from '../agent/agentSettings.node.js';
import { ONNX_EMBEDDING_MODEL_IDS } from '../documents/embedderChoice.node.js';
import { inspectOnnxModelFolder } from '../documents/onnxEmbedder.node.js';
import {
  FileModelRole,
  findManifestEntry,
  isFolderEntry,
  parseModelManifest,
  type FileModelEntry,
  type FolderModelEntry,
  type ModelManifestEntry,
} from './modelManifest.js';
import { knownModelManifest, loadKnownModels, loadModelManifest, modelManifestPath } from './modelManifest.node.js';
import { resolveDefaultModel } from './modelResolver.node.js';
import { projectRoot, sharedModelsDir } from './projectPaths.node.js';

const validEntry: FileModelEntry = {
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

  it('has unique ids and exactly one user default per file role, none of them test-only; no embedding default (USE-lite is built in)', () => {
    const ids = manifest.map((entry) => entry.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const role of FileModelRole.options) {
      const defaults = manifest.filter((entry) => entry.role === role && entry.default);
      expect(defaults, `default for ${role}`).toHaveLength(1);
      expect(defaults[0]?.testOnly).toBeUndefined();
    }
    expect(manifest.filter((entry) => entry.role === 'embedding' && entry.default)).toEqual([]);
  });

  it('gives every model (every file of a folder model) a checksum to verify downloads against', () => {
    for (const entry of manifest) {
      if (isFolderEntry(entry)) for (const file of entry.files) expect(file.sha256, `${entry.id} ${file.path}`).toMatch(/^[0-9a-f]{64}$/);
      else expect(entry.sha256 ?? entry.sha1, entry.id).toBeTruthy();
    }
  });

  it('has every ONNX embedder the documents know by id, each a folder where the embedder looks for it, from a pinned revision', () => {
    const embedding = manifest.filter(isFolderEntry);
    expect(embedding.map((entry) => entry.id).sort()).toEqual([...ONNX_EMBEDDING_MODEL_IDS].sort());
    for (const entry of embedding) {
      expect(entry.folder).toBe(`embeddings/${entry.id}`);
      expect(entry.files.map((file) => file.path).sort()).toEqual(['config.json', 'onnx/model_quantized.onnx', 'tokenizer.json', 'tokenizer_config.json']);
      expect(entry.sizeBytes).toBe(entry.files.reduce((sum, file) => sum + file.sizeBytes, 0));
      for (const file of entry.files) expect(file.url).toMatch(new RegExp(`^https://huggingface\\.co/Xenova/[^/]+/resolve/[0-9a-f]{40}/${file.path}$`));
    }
    expect(findManifestEntry(manifest, 'all-minilm-l6-v2')).toMatchObject({ role: 'embedding', license: 'Apache-2.0', sizeBytes: 23_685_047 });
    expect(findManifestEntry(manifest, 'bge-small-en-v1.5')).toMatchObject({ role: 'embedding', license: 'MIT', sizeBytes: 34_726_871 });
  });

  it('lays its embedding files out as the ONNX embedder reads a model folder', () => {
    for (const entry of manifest.filter(isFolderEntry)) {
      const folder = path.join(mkdtempSync(path.join(tmpdir(), 'manifest-layout-')), ...entry.folder.split('/'));
      for (const file of entry.files) {
        const target = path.join(folder, ...file.path.split('/'));
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, file.path === 'config.json' ? JSON.stringify({ hidden_size: 384 }) : '');
      }
      expect(inspectOnnxModelFolder(folder), entry.id).toMatchObject({ dtype: 'q8', dimensions: 384 });
    }
  });

  it.each([
    ['stories260k', 'llm/stories260K.gguf'],
    ['silero-vad', 'vad/silero-v6.2.0-ggml.bin'],
  ])('matches the real shared file for %s (size and sha256 computed here)', (id, file) => {
    const entry = manifest.find((model): model is FileModelEntry => model.id === id && !isFolderEntry(model));
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

  const folderEntry = {
    id: 'tiny-embed',
    role: 'embedding',
    folder: 'embeddings/tiny-embed',
    files: [
      { path: 'config.json', url: 'https://example.org/tiny/config.json', sizeBytes: 10, sha256: 'c'.repeat(64) },
      { path: 'onnx/model_quantized.onnx', url: 'https://example.org/tiny/model.onnx', sizeBytes: 90, sha256: 'd'.repeat(64) },
    ],
    license: 'MIT',
    description: 'A tiny embedding model.',
  };
  const withFile = (file: Partial<(typeof folderEntry.files)[number]>) => ({ ...folderEntry, files: [{ ...folderEntry.files[0]!, ...file }] });

  it('accepts a folder entry (role embedding) and fills in its size, the sum of its files', () => {
    const [entry] = parseModelManifest([folderEntry], 'test') as FolderModelEntry[];
    expect(entry).toEqual({ ...folderEntry, sizeBytes: 100 });
    expect(parseModelManifest([{ ...folderEntry, sizeBytes: 100 }], 'test')[0]?.sizeBytes).toBe(100);
  });

  it.each([
    ['a folder outside embeddings/', { ...folderEntry, folder: 'llm/tiny-embed' }, 'must be one folder directly inside embeddings/'],
    ['a folder climbing out with ..', { ...folderEntry, folder: 'embeddings/../llm' }, 'relative path inside the models dir'],
    ['an absolute folder', { ...folderEntry, folder: '/etc' }, 'relative path inside the models dir'],
    ['embeddings/ itself', { ...folderEntry, folder: 'embeddings' }, 'must be one folder directly inside embeddings/'],
    ['a folder two levels down', { ...folderEntry, folder: 'embeddings/a/b' }, 'must be one folder directly inside embeddings/'],
    ['a folder named like a partial download', { ...folderEntry, folder: 'embeddings/tiny.partial' }, 'must be one folder directly inside embeddings/'],
    ['a file climbing out of its folder', withFile({ path: '../../llm/x.gguf' }), 'relative path inside the model folder'],
    ['an absolute file path', withFile({ path: '/etc/passwd' }), 'relative path inside the model folder'],
    ['a hidden file', withFile({ path: '.cache/config.json' }), 'no hidden'],
    ['a backslash in a file path', withFile({ path: 'onnx\\model.onnx' }), 'relative path inside the model folder'],
    ['a file without a checksum', withFile({ sha256: null as unknown as string }), 'files[0].sha256'],
    ['a file with a bad checksum', withFile({ sha256: 'abc' }), '64 lowercase hex'],
    ['a file with a non-http url', withFile({ url: 'file:///etc/passwd' }), 'Invalid URL'],
    ['two files at one path', { ...folderEntry, files: [folderEntry.files[0], folderEntry.files[0]] }, 'clashes with "config.json"'],
    ['a file where another needs a folder', { ...folderEntry, files: [{ ...folderEntry.files[0]!, path: 'onnx' }, folderEntry.files[1]] }, 'clashes with "onnx"'],
    ['no files', { ...folderEntry, files: [] }, 'files'],
    ['a size that is not the sum of the files', { ...folderEntry, sizeBytes: 99 }, 'is 99 but the files add up to 100'],
    ['a folder with a single-file field', { ...folderEntry, file: 'embeddings/tiny-embed/model.onnx' }, 'file'],
    ['a chat model given as a folder', { ...folderEntry, role: 'llm' }, 'file'],
    ['an embedding model given as one file', { ...validEntry, role: 'embedding', file: 'embeddings/model.onnx' }, 'folder'],
  ])('rejects %s in a folder entry, naming the problem', (_, raw, problem) => {
    expect(() => parseModelManifest([raw], 'models/manifest.json')).toThrow(/models\/manifest\.json/);
    expect(() => parseModelManifest([raw], 'models/manifest.json')).toThrow(problem);
  });

  it('allows a null sha256 (unverifiable upstream file)', () => {
    expect(parseModelManifest([{ ...validEntry, sha256: null }], 'test')[0]).toMatchObject({ sha256: null });
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

  it('adds a folder model (an embedding model of the team mirror) like any other', () => {
    const mirrorEmbed = {
      id: 'team-embed',
      role: 'embedding',
      folder: 'embeddings/team-embed',
      files: [{ path: 'config.json', url: 'https://mirror.example.org/team-embed/config.json', sizeBytes: 5, sha256: 'e'.repeat(64) }],
      license: 'MIT',
      description: 'The team embedder.',
    };
    const known = loadKnownModels(withUserManifest([mirrorEmbed]));
    expect(known.manifest.at(-1)).toEqual({ ...mirrorEmbed, sizeBytes: 5 });
    expect([...known.fromUserManifest]).toEqual(['team-embed']);
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
    expect(findManifestEntry(knownModelManifest(env), 'team-chat')).toMatchObject({ url: mirrorEntry.url });
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
    [
      'an embedding folder outside embeddings/',
      [{ id: 'x', role: 'embedding', folder: 'llm', files: [{ path: 'a.gguf', url: 'https://mirror.example.org/a', sizeBytes: 1, sha256: 'e'.repeat(64) }], license: 'MIT', description: 'x' }],
      '[0].folder: model "x": folder "llm" must be one folder directly inside embeddings/',
    ],
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
