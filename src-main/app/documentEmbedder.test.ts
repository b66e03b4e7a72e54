import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveAgentConfig } from '../agent/agentConfig.node.js';
import { DocumentDatabase } from '../documents/documentDatabase.node.js';
import type { Embedder } from '../documents/embedder.js';
import { tempDataDir } from '../testing/agentTestSupport.js';
import { documentEmbedder, embedderLocation } from './documentEmbedder.node.js';

/** An ONNX model folder as `models pull` leaves it (contents are placeholders: nothing is embedded here). */
function placeModelFolder(modelsDir: string, id: string): string {
  const folder = path.join(modelsDir, 'embeddings', id);
  mkdirSync(path.join(folder, 'onnx'), { recursive: true });
  writeFileSync(path.join(folder, 'config.json'), JSON.stringify({ hidden_size: 384 }));
  for (const file of ['tokenizer.json', 'tokenizer_config.json', 'onnx/model_quantized.onnx']) writeFileSync(path.join(folder, file), '{}');
  return folder;
}

describe('the document embedder finds an embedding model where the downloads go', () => {
  const opened: Array<{ db: DocumentDatabase; embedder: Embedder }> = [];
  afterEach(async () => {
    for (const { db, embedder } of opened.splice(0)) {
      await embedder.close();
      db.close();
    }
  });

  it('uses the model pulled into ASSISTANT_MODELS_DIR, not the project models folder', () => {
    const modelsDir = tempDataDir('embedder-models-');
    const folder = placeModelFolder(modelsDir, 'all-minilm-l6-v2');
    const env = { ASSISTANT_MODELS_DIR: modelsDir, ASSISTANT_EMBEDDER: 'all-minilm-l6-v2' };
    const config = resolveAgentConfig({ dataDir: tempDataDir('embedder-data-') }, env);
    const db = new DocumentDatabase(config.dataDir);
    const embedder = documentEmbedder(config, db, env);
    opened.push({ db, embedder });
    expect(embedder).toMatchObject({ id: 'onnx:all-minilm-l6-v2@q8', dimensions: 384 });
    expect(embedderLocation('all-minilm-l6-v2', env)).toBe(folder);
  });

  it('says how to get a known model that is not downloaded; other choices pass through unchanged', () => {
    const env = { ASSISTANT_MODELS_DIR: tempDataDir('embedder-empty-') };
    expect(() => embedderLocation('bge-small-en-v1.5', env)).toThrow(
      expect.objectContaining({
        code: 'EMBEDDER_FAILED',
        message: 'The embedding model bge-small-en-v1.5 is not downloaded: download it in the Models panel or run "npx assistant models pull bge-small-en-v1.5" (33.1 MiB), or choose use-lite.',
      }),
    );
    expect(embedderLocation(undefined, env)).toBeUndefined();
    expect(embedderLocation('use-lite', env)).toBe('use-lite');
    expect(embedderLocation('./my-model', env)).toBe('./my-model');
  });
});
