import type { AgentEvent } from '../../src-shared/contract/index.js';
import type { AgentConfig } from '../agent/agentConfig.node.js';
import type { AgentLogger } from '../agent/agentLogger.js';
import { DocumentLibrary, type DocumentLibraryOptions } from '../documents/documentLibrary.node.js';
import { documentEmbedder } from './documentEmbedder.node.js';
import { DatabaseKeyring } from '../agent/memory/databaseKey.node.js';
import type { SqliteOpenOptions } from '../agent/memory/sqliteDatabase.node.js';

export type DocumentLibraryTuning = Pick<DocumentLibraryOptions, 'background' | 'chromaServer' | 'tuning' | 'vectorTimeoutMs'>;

/** The user's documents as the config sets them up (local or remote Chroma, the chosen embedder): the agent and the CLI's docs commands use this. */
export function createDocumentLibrary(
  config: AgentConfig,
  deps: { emit: (event: AgentEvent) => void; logger: AgentLogger; database?: SqliteOpenOptions },
  tuning: DocumentLibraryTuning = {},
): DocumentLibrary {
  const { chromaUrl, chromaToken } = config.documents;
  return new DocumentLibrary({
    dataDir: config.dataDir,
    embedder: (db) => documentEmbedder(config, db),
    emit: deps.emit,
    logger: deps.logger,
    ...(chromaUrl !== undefined && { remoteChroma: { url: chromaUrl, ...(chromaToken !== undefined && { token: chromaToken }) } }),
    // The same key and encryption as the conversations: the documents' text and the questions' embeddings are as private.
    database: deps.database ?? {
      nativeBinding: config.sqliteNativeBinding,
      encrypt: config.encryptDatabase,
      keys: new DatabaseKeyring({ dataDir: config.dataDir }),
    },
    ...tuning,
  });
}
