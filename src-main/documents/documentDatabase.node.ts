import path from 'node:path';
import { ensureDataDir } from '../agent/memory/dataDirectory.node.js';
import { openSqliteFile, type Migration, type SqliteDatabase, type SqliteOpenOptions } from '../agent/memory/sqliteDatabase.node.js';
import { DatabaseKeyring } from '../agent/memory/databaseKey.node.js';
import type { DocumentChunk, DocumentFormat } from './documentText.js';

/**
 * The documents' own SQLite file (`<data dir>/documents/documents.sqlite3`): what was ingested, every chunk's text and
 * vector, the keyword index (FTS5, kept in step by triggers, so it is never rebuilt for a query), the embedding cache,
 * and the ingestion queue that survives a restart. Chroma holds a copy of the vectors for fast search; this file is
 * the source of truth, so nothing ingested is lost when Chroma is down or replaced.
 */
const documentMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'documents, chunks with vectors, keyword index, ingestion queue, watched folders',
    sql: `
      CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL UNIQUE,
        content_hash TEXT NOT NULL,
        format TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        chunk_count INTEGER NOT NULL,
        embedder TEXT NOT NULL,
        ingested_at INTEGER NOT NULL,
        in_vector_store INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE chunks (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        heading_path TEXT NOT NULL,
        text TEXT NOT NULL,
        embedding BLOB NOT NULL
      );
      CREATE INDEX chunks_by_document ON chunks(document_id, ordinal);
      CREATE VIRTUAL TABLE chunks_fts USING fts5(text, heading_path, content='chunks', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2');
      CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
        INSERT INTO chunks_fts(rowid, text, heading_path) VALUES (new.rowid, new.text, new.heading_path);
      END;
      CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
        INSERT INTO chunks_fts(chunks_fts, rowid, text, heading_path) VALUES ('delete', old.rowid, old.text, old.heading_path);
      END;
      CREATE TABLE ingest_queue (
        path TEXT PRIMARY KEY,
        added_at INTEGER NOT NULL
      );
      CREATE TABLE watched_folders (
        path TEXT PRIMARY KEY,
        added_at INTEGER NOT NULL
      );
    `,
  },
];

export interface DocumentRow {
  id: string;
  source: string;
  contentHash: string;
  format: DocumentFormat;
  bytes: number;
  chunks: number;
  embedder: string;
  ingestedAt: number;
  inVectorStore: boolean;
}

export interface StoredChunk {
  id: string;
  documentId: string;
  source: string;
  /** The embedder that made `embedding`. */
  embedder: string;
  ordinal: number;
  headingPath: string[];
  text: string;
  embedding: Float32Array;
}

export interface KeywordHit {
  id: string;
  documentId: string;
  /** FTS5's bm25: lower is better (it is negative). */
  bm25: number;
}

/** Words too common to say anything about a chunk; a question made only of them has no keyword search. */
const STOPWORDS = new Set(
  'a an and are as at be but by can could did do does for from had has have how i if in into is it its me my of on or our should so than that the their them then there these they this to was we were what when where which who why will with would you your about tell please'.split(
    ' ',
  ),
);

export function documentsDirOf(dataDir: string): string {
  return path.join(dataDir, 'documents');
}

export class DocumentDatabase {
  readonly db: SqliteDatabase;

  /** `database`: the driver's addon and the profile's encryption; default: plaintext, unless the profile keeps a key. */
  constructor(dataDir: string, database: SqliteOpenOptions = {}) {
    ensureDataDir(dataDir);
    const dir = ensureDataDir(documentsDirOf(dataDir));
    this.db = openSqliteFile(path.join(dir, 'documents.sqlite3'), documentMigrations, {
      ...database,
      keys: database.keys ?? new DatabaseKeyring({ dataDir }),
    });
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  listDocuments(): DocumentRow[] {
    const rows = this.db.prepare('SELECT * FROM documents ORDER BY source').all() as RawDocument[];
    return rows.map(toDocumentRow);
  }

  documentCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM documents').get() as { n: number }).n;
  }

  /** Whether anything is ingested: a cheap check for every turn (no count over the whole table). */
  hasChunks(): boolean {
    return this.db.prepare('SELECT 1 FROM chunks LIMIT 1').get() !== undefined;
  }

  chunkCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n;
  }

  documentBySource(source: string): DocumentRow | undefined {
    const row = this.db.prepare('SELECT * FROM documents WHERE source = ?').get(source) as RawDocument | undefined;
    return row && toDocumentRow(row);
  }

  documentById(id: string): DocumentRow | undefined {
    const row = this.db.prepare('SELECT * FROM documents WHERE id = ?').get(id) as RawDocument | undefined;
    return row && toDocumentRow(row);
  }

  /** Documents under a folder (for a folder removed from disk, or `docs rm <folder>`). */
  documentsUnder(folder: string): DocumentRow[] {
    const prefix = folder.endsWith(path.sep) ? folder : folder + path.sep;
    const rows = this.db.prepare("SELECT * FROM documents WHERE substr(source, 1, length(?)) = ? ORDER BY source").all(prefix, prefix) as RawDocument[];
    return rows.map(toDocumentRow);
  }

  chunkIdsOf(documentId: string): string[] {
    return (this.db.prepare('SELECT id FROM chunks WHERE document_id = ? ORDER BY ordinal').all(documentId) as Array<{ id: string }>).map((row) => row.id);
  }

  /**
   * Replaces a document's chunks with new ones in one transaction: readers see the old version or the new one,
   * never a mix, and a crash leaves the old one whole.
   */
  replaceDocument(document: Omit<DocumentRow, 'chunks'>, chunks: ReadonlyArray<DocumentChunk & { id: string; embedding: Float32Array }>): void {
    const insertChunk = this.db.prepare(
      'INSERT INTO chunks (id, document_id, ordinal, heading_path, text, embedding) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM chunks WHERE document_id = ?').run(document.id);
      this.db
        .prepare(
          `INSERT INTO documents (id, source, content_hash, format, bytes, chunk_count, embedder, ingested_at, in_vector_store)
           VALUES (@id, @source, @contentHash, @format, @bytes, @chunks, @embedder, @ingestedAt, @inVectorStore)
           ON CONFLICT(id) DO UPDATE SET source = excluded.source, content_hash = excluded.content_hash, format = excluded.format,
             bytes = excluded.bytes, chunk_count = excluded.chunk_count, embedder = excluded.embedder,
             ingested_at = excluded.ingested_at, in_vector_store = excluded.in_vector_store`,
        )
        .run({ ...document, chunks: chunks.length, inVectorStore: document.inVectorStore ? 1 : 0 });
      for (const chunk of chunks) {
        insertChunk.run(chunk.id, document.id, chunk.ordinal, JSON.stringify(chunk.headingPath), chunk.text, vectorBlob(chunk.embedding));
      }
    })();
  }

  /** Removes a document and its chunks (the keyword index follows through its trigger). */
  deleteDocument(documentId: string): boolean {
    return this.db.prepare('DELETE FROM documents WHERE id = ?').run(documentId).changes > 0;
  }

  setInVectorStore(documentId: string, inVectorStore: boolean): void {
    this.db.prepare('UPDATE documents SET in_vector_store = ? WHERE id = ?').run(inVectorStore ? 1 : 0, documentId);
  }

  /** Documents embedded by another embedder than `embedderId` (the setting changed): they are embedded again. */
  documentsEmbeddedOtherThan(embedderId: string): DocumentRow[] {
    return (this.db.prepare('SELECT * FROM documents WHERE embedder != ? ORDER BY source').all(embedderId) as RawDocument[]).map(toDocumentRow);
  }

  /** Documents whose vectors are not (or no longer) in the vector store: after Chroma was down, or a new embedder. */
  documentsMissingFromVectorStore(): DocumentRow[] {
    return (this.db.prepare('SELECT * FROM documents WHERE in_vector_store = 0 ORDER BY source').all() as RawDocument[]).map(toDocumentRow);
  }

  markAllOutOfVectorStore(): void {
    this.db.prepare('UPDATE documents SET in_vector_store = 0').run();
  }

  chunksOf(documentId: string): StoredChunk[] {
    const rows = this.db
      .prepare(
        `SELECT c.id, c.document_id, d.source, d.embedder, c.ordinal, c.heading_path, c.text, c.embedding
         FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.document_id = ? ORDER BY c.ordinal`,
      )
      .all(documentId) as RawChunk[];
    return rows.map(toStoredChunk);
  }

  /** The chunks with these ids (unknown ids, e.g. vectors left behind by a crash, are skipped). */
  chunksById(ids: readonly string[]): Map<string, StoredChunk> {
    if (ids.length === 0) return new Map();
    // One query for all of them (the ids arrive as a JSON array).
    const rows = this.db
      .prepare(
        `SELECT c.id, c.document_id, d.source, d.embedder, c.ordinal, c.heading_path, c.text, c.embedding
         FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id IN (SELECT value FROM json_each(?))`,
      )
      .all(JSON.stringify(ids)) as RawChunk[];
    return new Map(rows.map((row) => [row.id, toStoredChunk(row)]));
  }

  /** BM25 keyword search over every chunk, best first. A question of only common words finds nothing. */
  keywordSearch(query: string, limit: number): KeywordHit[] {
    const match = ftsQueryOf(query);
    if (match === undefined) return [];
    const rows = this.db
      .prepare(
        // FTS5's built-in rank is bm25, and ordering by it is much faster than by a bm25() call (measured 2.5x at 10k chunks).
        `SELECT c.id, c.document_id, chunks_fts.rank AS score FROM chunks_fts
         JOIN chunks c ON c.rowid = chunks_fts.rowid WHERE chunks_fts MATCH ? ORDER BY chunks_fts.rank LIMIT ?`,
      )
      .all(match, limit) as Array<{ id: string; document_id: string; score: number }>;
    return rows.map((row) => ({ id: row.id, documentId: row.document_id, bm25: row.score }));
  }

  queuedPaths(): string[] {
    return (this.db.prepare('SELECT path FROM ingest_queue ORDER BY added_at, path').all() as Array<{ path: string }>).map((row) => row.path);
  }

  enqueue(paths: readonly string[]): void {
    const insert = this.db.prepare('INSERT OR IGNORE INTO ingest_queue (path, added_at) VALUES (?, ?)');
    const now = Date.now();
    this.db.transaction(() => {
      for (const each of paths) insert.run(each, now);
    })();
  }

  dequeue(filePath: string): void {
    this.db.prepare('DELETE FROM ingest_queue WHERE path = ?').run(filePath);
  }

  watchedFolders(): string[] {
    return (this.db.prepare('SELECT path FROM watched_folders ORDER BY path').all() as Array<{ path: string }>).map((row) => row.path);
  }

  addWatchedFolder(folder: string): void {
    this.db.prepare('INSERT OR IGNORE INTO watched_folders (path, added_at) VALUES (?, ?)').run(folder, Date.now());
  }

  removeWatchedFolder(folder: string): boolean {
    return this.db.prepare('DELETE FROM watched_folders WHERE path = ?').run(folder).changes > 0;
  }
}

/** Each word of the question quoted (so FTS5 syntax in it is just text), common words left out, any of them matching. */
export function ftsQueryOf(query: string): string | undefined {
  const words = (query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((word) => !STOPWORDS.has(word) && (word.length > 1 || /\p{N}/u.test(word)));
  const unique = [...new Set(words)].slice(0, 32);
  if (unique.length === 0) return undefined;
  return unique.map((word) => `"${word}"`).join(' OR ');
}

export function vectorBlob(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

export function vectorFromBlob(blob: Buffer): Float32Array {
  // A copy: the blob's memory may not be 4-byte aligned.
  const copy = new Uint8Array(blob.byteLength);
  copy.set(blob);
  return new Float32Array(copy.buffer);
}

interface RawDocument {
  id: string;
  source: string;
  content_hash: string;
  format: DocumentFormat;
  bytes: number;
  chunk_count: number;
  embedder: string;
  ingested_at: number;
  in_vector_store: number;
}

interface RawChunk {
  id: string;
  document_id: string;
  source: string;
  embedder: string;
  ordinal: number;
  heading_path: string;
  text: string;
  embedding: Buffer;
}

function toDocumentRow(row: RawDocument): DocumentRow {
  return {
    id: row.id,
    source: row.source,
    contentHash: row.content_hash,
    format: row.format,
    bytes: row.bytes,
    chunks: row.chunk_count,
    embedder: row.embedder,
    ingestedAt: row.ingested_at,
    inVectorStore: row.in_vector_store === 1,
  };
}

function toStoredChunk(row: RawChunk): StoredChunk {
  return {
    id: row.id,
    documentId: row.document_id,
    source: row.source,
    embedder: row.embedder,
    ordinal: row.ordinal,
    headingPath: JSON.parse(row.heading_path) as string[],
    text: row.text,
    embedding: vectorFromBlob(row.embedding),
  };
}
