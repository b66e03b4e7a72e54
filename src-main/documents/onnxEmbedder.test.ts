import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentError } from '../../src-shared/contract/index.js';
import { cosineSimilarity } from './embedder.js';
import { inspectOnnxModelFolder, OnnxEmbedder } from './onnxEmbedder.node.js';

/** Builds the error without failing the test, to look at it. */
function errorOf(work: () => unknown): AgentError {
  try {
    work();
  } catch (error) {
    if (error instanceof AgentError) return error;
    throw error;
  }
  throw new Error('expected an AgentError');
}

/** A model folder's layout with placeholder files (no weights: nothing here is ever loaded). */
function writeModelFolder(dir: string, files: Record<string, string>): string {
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), content);
  }
  return dir;
}

const CONFIG = JSON.stringify({ model_type: 'bert', hidden_size: 384 });
const TOKENIZER_FILES = { 'config.json': CONFIG, 'tokenizer.json': '{}', 'tokenizer_config.json': '{}' };

describe('OnnxEmbedder model folder checks (no weights needed)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'onnx-embedder-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names a folder that does not exist', () => {
    const missing = join(dir, 'bge-small-en-v1.5');
    const error = errorOf(() => new OnnxEmbedder(missing));
    expect(error.code).toBe('EMBEDDER_FAILED');
    expect(error.message).toContain(`${missing} does not exist`);
    expect(error.message).toContain('onnx/model.onnx');
  });

  it('names the missing weights file in a folder that has only the tokenizer and config', () => {
    const folder = writeModelFolder(join(dir, 'all-minilm-l6-v2'), TOKENIZER_FILES);
    const error = errorOf(() => new OnnxEmbedder(folder));
    expect(error.code).toBe('EMBEDDER_FAILED');
    expect(error.message).toContain(`${folder} has no onnx/model.onnx`);
  });

  it('names every missing file, and a config without a vector size', () => {
    const folder = writeModelFolder(join(dir, 'partial'), { 'onnx/model.onnx': '' });
    expect(errorOf(() => new OnnxEmbedder(folder)).message).toContain('has no config.json, no tokenizer.json, no tokenizer_config.json');
    writeModelFolder(folder, { ...TOKENIZER_FILES, 'config.json': '{"model_type":"bert"}' });
    expect(errorOf(() => new OnnxEmbedder(folder)).message).toContain('config.json without a hidden_size');
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    expect(errorOf(() => new OnnxEmbedder(file)).message).toContain('is a file, not a folder');
  });

  it('takes its size from config.json, its precision from the weights file, and its pooling from the model', () => {
    const minilm = writeModelFolder(join(dir, 'all-minilm-l6-v2'), { ...TOKENIZER_FILES, 'onnx/model_quantized.onnx': '' });
    expect(inspectOnnxModelFolder(minilm)).toEqual({ dir: minilm, dimensions: 384, dtype: 'q8', pooling: 'mean' });
    const embedder = new OnnxEmbedder(minilm); // checked, not loaded: the worker starts on the first embed
    expect(embedder.id).toBe('onnx:all-minilm-l6-v2@q8');
    expect(embedder.dimensions).toBe(384);

    const bge = writeModelFolder(join(dir, 'bge-small-en-v1.5'), { ...TOKENIZER_FILES, 'onnx/model.onnx': '', 'onnx/model_quantized.onnx': '' });
    expect(inspectOnnxModelFolder(bge)).toMatchObject({ dtype: 'fp32', pooling: 'cls' });
    const renamed = writeModelFolder(join(dir, 'my-model'), {
      ...TOKENIZER_FILES,
      'onnx/model.onnx': '',
      'config.json': JSON.stringify({ hidden_size: 768, _name_or_path: 'BAAI/bge-base-en-v1.5' }),
    });
    expect(inspectOnnxModelFolder(renamed)).toMatchObject({ dimensions: 768, pooling: 'cls' });
    writeModelFolder(renamed, { '1_Pooling/config.json': JSON.stringify({ pooling_mode_mean_tokens: true, pooling_mode_cls_token: false }) });
    expect(inspectOnnxModelFolder(renamed).pooling).toBe('mean');
  });

  it('fails the embed with EMBEDDER_FAILED when the weights cannot be loaded', async () => {
    const broken = writeModelFolder(join(dir, 'broken'), { ...TOKENIZER_FILES, 'onnx/model.onnx': 'not an onnx file' });
    const embedder = new OnnxEmbedder(broken);
    try {
      await expect(embedder.embed(['some text'])).rejects.toMatchObject({ code: 'EMBEDDER_FAILED', message: 'The embedding model could not be loaded.' });
    } finally {
      await embedder.close();
    }
  });
});

// A real model folder (e.g. Xenova/all-MiniLM-L6-v2 or Xenova/bge-small-en-v1.5 downloaded from Hugging Face).
const modelDir = process.env['ASSISTANT_EMBED_MODEL'];
if (!modelDir) console.log('Skipping the OnnxEmbedder real-model tests: set ASSISTANT_EMBED_MODEL to a folder holding an ONNX sentence-embedding model.');

describe.skipIf(!modelDir)('OnnxEmbedder with a real model (ASSISTANT_EMBED_MODEL)', () => {
  const embedder = modelDir ? new OnnxEmbedder(modelDir) : undefined!;
  afterAll(() => embedder?.close());

  it('gives unit vectors of the model size, paraphrases closer than unrelated text, in order', async () => {
    const texts = ['How do I bake sourdough bread?', '', 'A simple recipe for a rye loaf.', '...', 'Changing a flat tyre on the motorway.'];
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(5);
    for (const i of [0, 2, 4]) {
      expect(vectors[i]!.length).toBe(embedder.dimensions);
      expect(Math.hypot(...vectors[i]!)).toBeCloseTo(1, 3);
    }
    expect(vectors[1]!.every((value) => value === 0) && vectors[3]!.every((value) => value === 0)).toBe(true);
    expect(cosineSimilarity(vectors[0]!, vectors[2]!)).toBeGreaterThan(cosineSimilarity(vectors[0]!, vectors[4]!) + 0.1);
    const [alone] = await embedder.embed([texts[4]!]);
    expect(cosineSimilarity(alone!, vectors[4]!)).toBeGreaterThan(0.999);
  });

  it('embeds 100 paragraphs and rejects an aborted request with its reason', async () => {
    const paragraphs = Array.from({ length: 100 }, (_, i) => `Paragraph ${i} is about the budget for year ${2000 + i} and the roof repairs.`);
    const vectors = await embedder.embed(paragraphs);
    expect(vectors).toHaveLength(100);
    const reason = new Error('stop');
    await expect(embedder.embed(paragraphs, AbortSignal.abort(reason))).rejects.toBe(reason);
  });
});
