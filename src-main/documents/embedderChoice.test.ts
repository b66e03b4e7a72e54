import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmbedder } from './embedderChoice.node.js';
import { OnnxEmbedder } from './onnxEmbedder.node.js';
import { UseLiteEmbedder } from './useLiteEmbedder.node.js';

let modelsDir: string;
beforeEach(() => (modelsDir = mkdtempSync(join(tmpdir(), 'embedder-choice-'))));
afterEach(() => rmSync(modelsDir, { recursive: true, force: true }));

/** A model folder's layout with placeholder files: construction only checks them, nothing is loaded. */
function placeModelFolder(dir: string): string {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ hidden_size: 384 }));
  for (const file of ['tokenizer.json', 'tokenizer_config.json', 'onnx/model_quantized.onnx']) writeFileSync(join(dir, file), '{}');
  return dir;
}

describe('createEmbedder (ASSISTANT_EMBEDDER)', () => {
  it('is USE-lite when unset, empty or use-lite', () => {
    for (const choice of [undefined, '', '  ', 'use-lite', 'USE-LITE']) expect(createEmbedder(choice, { modelsDir })).toBeInstanceOf(UseLiteEmbedder);
  });

  it('finds a known id in the models dir, and names the folder when it is not there', () => {
    expect(() => createEmbedder('bge-small-en-v1.5', { modelsDir })).toThrow(
      expect.objectContaining({ code: 'EMBEDDER_FAILED', message: expect.stringContaining(join(modelsDir, 'embeddings', 'bge-small-en-v1.5')) }),
    );
    placeModelFolder(join(modelsDir, 'embeddings', 'all-minilm-l6-v2'));
    const embedder = createEmbedder('All-MiniLM-L6-v2', { modelsDir });
    expect(embedder).toBeInstanceOf(OnnxEmbedder);
    expect(embedder.id).toBe('onnx:all-minilm-l6-v2@q8');
  });

  it('takes a path to a model folder', () => {
    const folder = placeModelFolder(join(modelsDir, 'my-embedder'));
    expect(createEmbedder(folder).id).toBe('onnx:my-embedder@q8');
    expect(() => createEmbedder('./no/such/folder')).toThrow(expect.objectContaining({ code: 'EMBEDDER_FAILED' }));
  });

  it('refuses anything else, naming the setting and what is allowed', () => {
    expect(() => createEmbedder('bge-large', { modelsDir })).toThrow(
      expect.objectContaining({
        code: 'INVALID_SETTING',
        message: 'ASSISTANT_EMBEDDER must be use-lite, all-minilm-l6-v2, bge-small-en-v1.5, or the path of a folder holding an ONNX embedding model; got "bge-large".',
      }),
    );
  });
});
