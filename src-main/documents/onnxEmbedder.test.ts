import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AgentError } from '../../src-shared/contract/index.js';
import { longestEventLoopGap } from '../testing/eventLoopGap.js';
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

/** Writes a model folder's files (placeholders, unless said otherwise). */
function writeModelFolder(dir: string, files: Record<string, string | Uint8Array>): string {
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

/**
 * A generated miniature BERT-shaped model: a WordPiece tokenizer over a 20-word vocabulary and an ONNX graph that only
 * looks token vectors up (Gather), then multiplies them by a matrix `layers` times to take longer. It says nothing about
 * embedding quality; it lets loading, tokenising, pooling, batching, threading and shutdown run without real weights.
 */
function writeMiniatureModel(dir: string, { hidden = 8, layers = 0 } = {}): string {
  const words = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'bread', 'rye', 'loaf', 'bake', 'sour', '##dough', 'car', 'tyre', 'change', 'the', 'a', 'how', 'to', 'recipe', 'flat', 'road'];
  const special = (id: string) => ({ SpecialToken: { id, type_id: 0 } });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: words.slice(0, 4).map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, special('[SEP]')],
      pair: [special('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, special('[SEP]'), { Sequence: { id: 'B', type_id: 1 } }, special('[SEP]')],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(words.map((word, id) => [word, id])) },
  };
  return writeModelFolder(dir, {
    'config.json': JSON.stringify({ model_type: 'bert', hidden_size: hidden, vocab_size: words.length }),
    'tokenizer.json': JSON.stringify(tokenizer),
    'tokenizer_config.json': JSON.stringify({ tokenizer_class: 'BertTokenizer', do_lower_case: true, model_max_length: 512, cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]' }),
    'onnx/model.onnx': miniatureOnnxGraph(words.length, hidden, layers),
  });
}

/** The ONNX protobuf (a ModelProto, opset 13) of `last_hidden_state = Gather(table, input_ids) × w × w …`. */
function miniatureOnnxGraph(vocab: number, hidden: number, layers: number): Buffer {
  const varint = (value: number) => {
    const out: number[] = [];
    let rest = value;
    do {
      out.push((rest & 0x7f) | (rest > 0x7f ? 0x80 : 0));
      rest = Math.floor(rest / 128);
    } while (rest > 0);
    return Buffer.from(out);
  };
  const field = (number: number, ...parts: Uint8Array[]) => {
    const body = Buffer.concat(parts);
    return Buffer.concat([varint((number << 3) | 2), varint(body.length), body]);
  };
  const text = (number: number, value: string) => field(number, Buffer.from(value));
  const integer = (number: number, value: number) => Buffer.concat([varint(number << 3), varint(value)]);
  const tensor = (name: string, dims: number[], values: (i: number) => number) => {
    const data = Float32Array.from({ length: dims.reduce((a, b) => a * b) }, (_, i) => values(i));
    return Buffer.concat([...dims.map((dim) => integer(1, dim)), integer(2, 1), text(8, name), field(9, new Uint8Array(data.buffer))]);
  };
  const valueInfo = (name: string, elementType: number, dims: (number | string)[]) => {
    const shape = field(2, ...dims.map((dim) => field(1, typeof dim === 'number' ? integer(1, dim) : text(2, dim))));
    return Buffer.concat([text(1, name), field(2, field(1, integer(1, elementType), shape))]);
  };
  const node = (op: string, inputs: string[], output: string) => Buffer.concat([...inputs.map((input) => text(1, input)), text(2, output), text(3, output), text(4, op)]);
  const layerName = (layer: number) => (layer === layers ? 'last_hidden_state' : `h${layer}`);
  const nodes = [node('Gather', ['table', 'input_ids'], layerName(0))];
  for (let layer = 1; layer <= layers; layer += 1) nodes.push(node('MatMul', [layerName(layer - 1), 'w'], layerName(layer)));
  const initializers = [tensor('table', [vocab, hidden], (i) => Math.sin(i * 12.9898) * 0.5)];
  if (layers > 0) initializers.push(tensor('w', [hidden, hidden], (i) => (i % (hidden + 1) === 0 ? 1 : 0.0001)));
  const graph = Buffer.concat([
    ...nodes.map((bytes) => field(1, bytes)),
    text(2, 'miniature'),
    ...initializers.map((bytes) => field(5, bytes)),
    field(11, valueInfo('input_ids', 7, ['batch', 'sequence'])),
    field(12, valueInfo('last_hidden_state', 1, ['batch', 'sequence', hidden])),
  ]);
  return Buffer.concat([integer(1, 8), field(7, graph), field(8, text(1, ''), integer(2, 13))]);
}

describe('OnnxEmbedder on a generated miniature model (the plumbing, not the quality)', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'onnx-miniature-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the folder with transformers.js and gives unit vectors in order, zero vectors for texts without words', async () => {
    const embedder = new OnnxEmbedder(writeMiniatureModel(join(dir, 'miniature')));
    try {
      expect(embedder.id).toBe('onnx:miniature@fp32');
      const texts = ['How to bake sourdough bread', '', 'change a flat tyre', '...', 'bread'];
      const vectors = await embedder.embed(texts);
      expect(vectors.map((vector) => vector.length)).toEqual([8, 8, 8, 8, 8]);
      expect(vectors[1]!.every((value) => value === 0) && vectors[3]!.every((value) => value === 0)).toBe(true);
      for (const i of [0, 2, 4]) {
        expect(Math.hypot(...vectors[i]!)).toBeCloseTo(1, 5);
        // Alone, unpadded, each text gets the same vector as in the batch: the order and the padding mask hold.
        expect(cosineSimilarity((await embedder.embed([texts[i]!]))[0]!, vectors[i]!)).toBeGreaterThan(0.9999);
      }
      expect(cosineSimilarity(vectors[0]!, vectors[2]!)).toBeLessThan(0.99);
    } finally {
      await embedder.close();
    }
  });

  it('pools as asked: with cls pooling every text gets the vector of its [CLS] token', async () => {
    const folder = writeMiniatureModel(join(dir, 'pooling'));
    const mean = new OnnxEmbedder(folder);
    const cls = new OnnxEmbedder(folder, { pooling: 'cls' });
    try {
      const [breadMean, tyreMean] = await mean.embed(['bread', 'flat tyre']);
      const [breadCls, tyreCls] = await cls.embed(['bread', 'flat tyre']);
      expect(cosineSimilarity(breadMean!, tyreMean!)).toBeLessThan(0.99);
      expect(cosineSimilarity(breadCls!, tyreCls!)).toBeCloseTo(1, 5);
    } finally {
      await Promise.all([mean.close(), cls.close()]);
    }
  });

  it('keeps the main thread ticking while onnxruntime runs, and a close waits for the running call', async () => {
    const embedder = new OnnxEmbedder(writeMiniatureModel(join(dir, 'heavy'), { hidden: 512, layers: 48 }));
    const texts = Array.from({ length: 32 }, (_, i) => `how to bake the sourdough bread recipe ${i} then change a flat tyre on the road`);
    try {
      await embedder.embed(['bread']); // loaded: what is measured is the embedding alone
      const started = performance.now();
      const busy = performance.eventLoopUtilization();
      const gap = await longestEventLoopGap(() => embedder.embed(texts));
      const utilization = performance.eventLoopUtilization(busy).utilization;
      console.log(
        `miniature heavy model: 32 texts in ${(performance.now() - started).toFixed(0)} ms, longest main-thread gap ${gap.toFixed(0)} ms, main event loop busy ${(utilization * 100).toFixed(1)}%`,
      );
      // onnxruntime-node's run() holds its calling thread for the whole run: on this thread it would be busy ~100%.
      // The utilization counts this thread's own work, whatever the machine's load; the gap (printed) is not asserted.
      expect(utilization).toBeLessThan(0.2);

      // Closing in the middle of a model call: the caller is answered at once, the call ends, and nothing aborts.
      const running = expect(embedder.embed(texts.map((text) => `${text} again`))).rejects.toMatchObject({ code: 'CANCELLED' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      await embedder.close();
      await running;
      expect((await embedder.embed(['bread']))[0]!.length).toBe(512);
    } finally {
      await embedder.close();
    }
  });

  it('lets the process exit cleanly: with a run cancelled mid-call, and with no close at all', async () => {
    const folder = writeMiniatureModel(join(dir, 'exit'), { hidden: 512, layers: 48 });
    // A separate process, run by vite-node (it loads the TypeScript source like vitest does), must end on its own and
    // not abort: onnxruntime-node aborts the process if its worker is stopped inside a model run.
    const script = join(dir, 'embedThenEnd.mjs');
    writeFileSync(
      script,
      `const { OnnxEmbedder } = await import(${JSON.stringify(join(import.meta.dirname, 'onnxEmbedder.node.ts'))});
const embedder = new OnnxEmbedder(${JSON.stringify(folder)});
const [vector] = await embedder.embed(['bread']);
console.log('embedded', vector.length);
if (process.argv[2] === 'cancel-mid-call') {
  const texts = Array.from({ length: 16 }, (_, i) => 'how to bake the sourdough bread recipe ' + i + ' on the road');
  const controller = new AbortController();
  embedder.embed(texts, controller.signal).catch((error) => console.log('then', error.message));
  await new Promise((resolve) => setTimeout(resolve, 30));
  controller.abort(new Error('cancelled'));
}
`,
    );
    const viteNode = join(import.meta.dirname, '../../node_modules/.bin/vite-node');
    for (const scenario of ['no-close', 'cancel-mid-call']) {
      const { stdout, stderr } = await promisify(execFile)(viteNode, [script, scenario], { timeout: 60_000, cwd: dir });
      expect(stdout, scenario).toContain('embedded 512');
      if (scenario === 'cancel-mid-call') expect(stdout).toContain('then cancelled');
      expect(stderr, scenario).toBe('');
    }
  });
});

// A real model folder (e.g. Xenova/all-MiniLM-L6-v2 or Xenova/bge-small-en-v1.5 downloaded from Hugging Face).
const modelDir = process.env['ASSISTANT_EMBED_MODEL'];
if (!modelDir) console.log('Skipping the OnnxEmbedder real-model tests: set ASSISTANT_EMBED_MODEL to a folder holding an ONNX sentence-embedding model.');

describe.skipIf(!modelDir)('OnnxEmbedder with a real model (ASSISTANT_EMBED_MODEL)', () => {
  let embedder: OnnxEmbedder;
  beforeAll(() => (embedder = new OnnxEmbedder(modelDir!)));
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
