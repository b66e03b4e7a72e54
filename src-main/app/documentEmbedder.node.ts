import type { AgentConfig } from '../agent/agentConfig.node.js';
import type { DocumentDatabase } from '../documents/documentDatabase.node.js';
import { CachedEmbedder } from '../documents/embeddingCache.node.js';
import { createEmbedder } from '../documents/embedderChoice.node.js';
import type { Embedder } from '../documents/embedder.js';
import { projectModelsDir } from '../models/projectPaths.node.js';

/** The embedder the settings choose (USE-lite unless ASSISTANT_EMBEDDER says otherwise), behind the embedding cache in the documents database. */
export function documentEmbedder(config: AgentConfig, db: DocumentDatabase): Embedder {
  return new CachedEmbedder(createEmbedder(config.documents.embedder, { modelsDir: projectModelsDir() }), db.db);
}
