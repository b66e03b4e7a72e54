import { AgentError } from '../../src-shared/contract/index.js';
import type { AgentConfig } from '../agent/agentConfig.node.js';
import type { DocumentDatabase } from '../documents/documentDatabase.node.js';
import { CachedEmbedder } from '../documents/embeddingCache.node.js';
import { createEmbedder } from '../documents/embedderChoice.node.js';
import type { Embedder } from '../documents/embedder.js';
import { findManifestEntry, isFolderEntry, type ModelManifest } from '../models/modelManifest.js';
import { knownModelManifest } from '../models/modelManifest.node.js';
import { downloadModelsDir, formatBytes, pullCommand, resolveModelPath } from '../models/modelResolver.node.js';

/**
 * The embedder the settings choose (USE-lite unless ASSISTANT_EMBEDDER or the saved setting says otherwise), behind the
 * embedding cache in the documents database. An embedding model is looked for where `models pull` and the Models panel
 * put it (ASSISTANT_MODELS_DIR, else `<project>/models`), then the project's and the shared models dirs.
 */
export function documentEmbedder(config: AgentConfig, db: DocumentDatabase, env: NodeJS.ProcessEnv = process.env): Embedder {
  const choice = embedderLocation(config.documents.embedder, env);
  return new CachedEmbedder(createEmbedder(choice, { modelsDir: downloadModelsDir({ env }) }), db.db);
}

/**
 * The embedder setting with an embedding model id of the manifest replaced by the folder the model is in, found like
 * every model (the download dir first); other settings (use-lite, a folder) unchanged. A known model that is not
 * downloaded throws EMBEDDER_FAILED saying how to get it.
 */
export function embedderLocation(choice: string | undefined, env: NodeJS.ProcessEnv = process.env, manifest?: ModelManifest): string | undefined {
  const value = choice?.trim().toLowerCase();
  if (value === undefined || value === '') return choice;
  let known: ModelManifest;
  try {
    known = manifest ?? knownModelManifest(env);
  } catch {
    // A broken user manifest is reported where it is loaded; the embedder choice still works by its own rules.
    return choice;
  }
  const entry = findManifestEntry(known, value);
  if (entry === undefined || !isFolderEntry(entry)) return choice;
  const resolution = resolveModelPath(entry.id, { manifest: known, env });
  if (resolution.found) return resolution.path;
  throw new AgentError(
    'EMBEDDER_FAILED',
    `The embedding model ${entry.id} is not downloaded: download it in the Models panel or run "${pullCommand(entry.id)}" (${formatBytes(entry.sizeBytes)}), or choose use-lite.`,
  );
}
