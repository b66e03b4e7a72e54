import os from 'node:os';
import path from 'node:path';
import { InvalidSettingError } from '../agent/agentSettings.node.js';
import { projectModelsDir } from '../models/projectPaths.node.js';
import type { Embedder } from './embedder.js';
import { OnnxEmbedder } from './onnxEmbedder.node.js';
import { UseLiteEmbedder } from './useLiteEmbedder.node.js';

/** ONNX embedding models known by id; each lives in `<models dir>/embeddings/<id>/`. */
export const ONNX_EMBEDDING_MODEL_IDS = ['all-minilm-l6-v2', 'bge-small-en-v1.5'] as const;

export interface EmbedderChoiceOptions {
  /** Where known ids are looked up (default `<project>/models`). */
  modelsDir?: string;
}

/**
 * The embedder ASSISTANT_EMBEDDER names: unset or `use-lite` → USE-lite (built in); a known id → that ONNX model in
 * the models dir; a path (it has a slash, or starts with "." or "~") → the ONNX model in that folder. Anything else is
 * an INVALID_SETTING naming what is allowed. A model folder that is missing or incomplete throws EMBEDDER_FAILED.
 */
export function createEmbedder(choice: string | undefined, options: EmbedderChoiceOptions = {}): Embedder {
  const value = choice?.trim() ?? '';
  if (value === '' || value.toLowerCase() === 'use-lite') return new UseLiteEmbedder();
  const knownId = ONNX_EMBEDDING_MODEL_IDS.find((id) => id === value.toLowerCase());
  if (knownId !== undefined) return new OnnxEmbedder(path.join(options.modelsDir ?? projectModelsDir(), 'embeddings', knownId));
  if (/[/\\]/.test(value) || value.startsWith('.') || value.startsWith('~')) {
    return new OnnxEmbedder(path.resolve(value.replace(/^~(?=$|[/\\])/, os.homedir())));
  }
  const shown = JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  throw new InvalidSettingError(
    `ASSISTANT_EMBEDDER must be use-lite, ${ONNX_EMBEDDING_MODEL_IDS.join(', ')}, or the path of a folder holding an ONNX embedding model; got ${shown}.`,
  );
}
