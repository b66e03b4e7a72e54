import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { AgentError } from '../../src-shared/contract/index.js';
import type { Embedder } from './embedder.js';
import { EmbeddingQueue, embedWordsOnly, type TextEmbeddingModel } from './embeddingQueue.js';

export interface OnnxEmbedderOptions {
  /**
   * How token vectors become one text vector. Default: what the folder's `1_Pooling/config.json` says (the
   * sentence-transformers layout), else `cls` for BGE models (as their model card says) and `mean` for the others
   * (all-MiniLM and most sentence-transformers models).
   */
  pooling?: 'mean' | 'cls';
  /** The most texts one model call takes (default 16). */
  maxBatchTexts?: number;
}

/** What a model folder holds, checked before anything is loaded. */
export interface OnnxModelFolder {
  dir: string;
  dimensions: number;
  /** fp32 when the folder has onnx/model.onnx (preferred), else q8 for onnx/model_quantized.onnx. */
  dtype: 'fp32' | 'q8';
  pooling: 'mean' | 'cls';
}

const REQUIRED_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];
const MODEL_FILES = { fp32: 'onnx/model.onnx', q8: 'onnx/model_quantized.onnx' } as const;

/**
 * A sentence-embedding model downloaded as ONNX (e.g. all-MiniLM-L6-v2, bge-small-en-v1.5 from Hugging Face's Xenova
 * or onnx-community repos), run by transformers.js on onnxruntime-node. transformers.js (475 MB installed) is imported
 * only when this embedder first embeds. The folder is checked at construction, so a missing file is reported before
 * the first embed. The id names the folder and the weights' precision (`onnx:bge-small-en-v1.5@q8`), so another model
 * or precision never reuses cached vectors.
 *
 * It runs on this thread, not in a worker: onnxruntime runs the model asynchronously on its own native threads, and
 * only tokenising and pooling (a few milliseconds a batch) run here. A worker would be worse: when a worker holding
 * onnxruntime-node is terminated, or the process exits, while a model call is running, the whole process aborts
 * ("terminate called after throwing an instance of 'Napi::Error'"; 3 of 3 tries here, none on the main thread).
 *
 * BGE models embed a query best with the prefix "Represent this sentence for searching relevant passages: ". It is
 * not added: v1.5 works without it with a slight loss, and the Embedder interface does not tell queries from passages.
 */
export class OnnxEmbedder implements Embedder {
  readonly id: string;
  readonly dimensions: number;
  readonly modelDir: string;
  readonly #newQueue: () => EmbeddingQueue;
  #queue: EmbeddingQueue;

  constructor(modelDir: string, options: OnnxEmbedderOptions = {}) {
    const folder = inspectOnnxModelFolder(modelDir);
    const pooling = options.pooling ?? folder.pooling;
    this.id = `onnx:${path.basename(folder.dir)}@${folder.dtype}`;
    this.dimensions = folder.dimensions;
    this.modelDir = folder.dir;
    this.#newQueue = () => new EmbeddingQueue({ dimensions: folder.dimensions, maxBatchTexts: options.maxBatchTexts ?? 16, load: () => loadPipeline(folder, pooling) });
    this.#queue = this.#newQueue();
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    signal?.throwIfAborted();
    const queue = this.#queue;
    return embedWordsOnly(texts, this.dimensions, (withWords) => queue.embed(withWords, signal));
  }

  /** Rejects queued requests with CANCELLED, waits for the running model call, and frees the model. A later embed loads it again. */
  async close(): Promise<void> {
    const queue = this.#queue;
    this.#queue = this.#newQueue();
    await queue.close(new AgentError('CANCELLED', 'The embedder was closed.'));
  }
}

async function loadPipeline(folder: OnnxModelFolder, pooling: 'mean' | 'cls'): Promise<TextEmbeddingModel> {
  const { env, LogLevel, pipeline } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.useFSCache = false;
  env.localModelPath = path.dirname(folder.dir);
  env.logLevel = LogLevel.ERROR; // the CLI's output stays clean
  // An absolute path is not a Hugging Face model id, so transformers.js reads the folder as it is.
  const extractor = await pipeline('feature-extraction', folder.dir, { dtype: folder.dtype, device: 'cpu', session_options: { logSeverityLevel: 3 } });
  return {
    async embed(texts) {
      const output = await extractor(texts, { pooling, normalize: true });
      return Float32Array.from(output.data as Float32Array);
    },
    dispose: () => extractor.dispose(),
  };
}

/** Checks a model folder; throws EMBEDDER_FAILED naming the folder and what is missing or wrong. */
export function inspectOnnxModelFolder(modelDir: string): OnnxModelFolder {
  const dir = path.resolve(modelDir);
  const fail = (problem: string) =>
    new AgentError(
      'EMBEDDER_FAILED',
      `The embedding model folder ${dir} ${problem}. It needs ${[...REQUIRED_FILES, `${MODEL_FILES.fp32} (or ${MODEL_FILES.q8})`].join(', ')}, as in a Hugging Face ONNX repo (Xenova/..., onnx-community/...).`,
    );
  if (!existsSync(dir)) throw fail('does not exist');
  if (!statSync(dir).isDirectory()) throw fail('is a file, not a folder');
  const missing = REQUIRED_FILES.filter((file) => !existsSync(path.join(dir, file)));
  const dtype = existsSync(path.join(dir, MODEL_FILES.fp32)) ? 'fp32' : existsSync(path.join(dir, MODEL_FILES.q8)) ? 'q8' : undefined;
  if (dtype === undefined) missing.push(MODEL_FILES.fp32);
  if (missing.length > 0) throw fail(`has no ${missing.join(', no ')}`);
  const config = readJson(path.join(dir, 'config.json'));
  const dimensions = config?.['hidden_size'];
  if (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions <= 0) {
    throw fail('has a config.json without a hidden_size (the vector size): it is not a readable model config');
  }
  return { dir, dimensions, dtype: dtype!, pooling: poolingOf(dir, config) };
}

function poolingOf(dir: string, config: Record<string, unknown> | undefined): 'mean' | 'cls' {
  const pooling = readJson(path.join(dir, '1_Pooling', 'config.json'));
  if (pooling?.['pooling_mode_cls_token'] === true) return 'cls';
  if (pooling?.['pooling_mode_mean_tokens'] === true) return 'mean';
  const name = `${path.basename(dir)} ${String(config?.['_name_or_path'] ?? '')}`.toLowerCase();
  return name.includes('bge') ? 'cls' : 'mean';
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
