import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { AgentError } from '../../src-shared/contract/index.js';
import { WorkerEmbedder, type WorkerEmbedderOptions } from './workerEmbedder.node.js';

export interface OnnxEmbedderOptions extends WorkerEmbedderOptions {
  /**
   * How token vectors become one text vector. Default: what the folder's `1_Pooling/config.json` says (the
   * sentence-transformers layout), else `cls` for BGE models (as their model card says) and `mean` for the others
   * (all-MiniLM and most sentence-transformers models).
   */
  pooling?: 'mean' | 'cls';
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
 * or onnx-community repos), run by transformers.js on onnxruntime-node in the embedding worker thread. transformers.js
 * (475 MB installed) is imported only there, on the first embed. The folder is checked at construction, so a missing
 * file is reported before anything loads. The id names the folder and the weights' precision
 * (`onnx:bge-small-en-v1.5@q8`), so another model or precision never reuses cached vectors.
 *
 * Why a worker: onnxruntime-node's run() blocks the calling thread until its native threads finish (measured: a
 * 0.9 s run let no 10 ms timer fire), so on the main thread it would stall token streaming for a whole batch.
 *
 * BGE models embed a query best with the prefix "Represent this sentence for searching relevant passages: ". It is
 * not added: v1.5 works without it with a slight loss, and the Embedder interface does not tell queries from passages.
 */
export class OnnxEmbedder extends WorkerEmbedder {
  readonly modelDir: string;

  constructor(modelDir: string, options: OnnxEmbedderOptions = {}) {
    const folder = inspectOnnxModelFolder(modelDir);
    const pooling = options.pooling ?? folder.pooling;
    super(`onnx:${path.basename(folder.dir)}@${folder.dtype}`, folder.dimensions, { kind: 'onnx', modelDir: folder.dir, dtype: folder.dtype, pooling }, options);
    this.modelDir = folder.dir;
  }
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
