import { z } from 'zod';

/** The documents that can be ingested, by file extension (lower case). A folder walk picks up only these. */
export const DOCUMENT_FORMAT_BY_EXTENSION = {
  '.txt': 'txt',
  '.text': 'txt',
  '.log': 'txt',
  '.md': 'md',
  '.markdown': 'md',
  '.html': 'html',
  '.htm': 'html',
  '.pdf': 'pdf',
  '.docx': 'docx',
} as const;

/** Folders a walk never goes into (besides hidden ones). */
export const SKIPPED_DOCUMENT_FOLDERS: ReadonlySet<string> = new Set(['node_modules', '__pycache__', 'venv']);

/** Whether a folder walk should pick up a file of this name. */
export function isDocumentFileName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return !name.startsWith('.') && dot > 0 && Object.hasOwn(DOCUMENT_FORMAT_BY_EXTENSION, name.slice(dot).toLowerCase());
}

/** Where a part of an answer came from: shown under the answer; a click opens the chunk (`docs:chunk`). Never spoken. */
export const Citation = z.object({
  /** The file's path as ingested. */
  source: z.string(),
  /** The chunk's position in its document (0-based). */
  chunk: z.number().int().nonnegative(),
  chunkId: z.string(),
  /** Cosine similarity of the chunk to the question, 0..1. */
  score: z.number(),
  /** The start of the chunk's text. */
  snippet: z.string(),
});
export type Citation = z.infer<typeof Citation>;

export const DocumentInfo = z.object({
  id: z.string(),
  source: z.string(),
  format: z.string(),
  chunks: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  ingestedAt: z.number(),
});
export type DocumentInfo = z.infer<typeof DocumentInfo>;

export const SearchResult = z.object({
  source: z.string(),
  chunk: z.number().int().nonnegative(),
  chunkId: z.string(),
  score: z.number(),
  text: z.string(),
  headingPath: z.array(z.string()),
});
export type SearchResult = z.infer<typeof SearchResult>;

export const FileOutcome = z.object({
  source: z.string(),
  status: z.enum(['ingested', 'unchanged', 'failed', 'removed', 'cancelled']),
  chunks: z.number().int().nonnegative().optional(),
  reason: z.string().optional(),
});
export type FileOutcome = z.infer<typeof FileOutcome>;

export const IngestSummary = z.object({
  documents: z.number().int().nonnegative(),
  chunks: z.number().int().nonnegative(),
  unchanged: z.number().int().nonnegative(),
  removed: z.number().int().nonnegative(),
  failed: z.array(z.object({ source: z.string(), reason: z.string() })),
});
export type IngestSummary = z.infer<typeof IngestSummary>;

/**
 * Progress of an ingestion job: one when it starts, one per file as it finishes (`file`), a few per second while a
 * large file is embedded, and a last one with the final state and the summary.
 */
export const DocsProgressEvent = z.object({
  type: z.literal('docs-progress'),
  jobId: z.string(),
  state: z.enum(['running', 'done', 'cancelled', 'failed']),
  filesTotal: z.number().int().nonnegative(),
  filesDone: z.number().int().nonnegative(),
  /** The file being read or embedded now. */
  current: z.string().optional(),
  /** Chunks embedded so far in the current file, and how many it has. */
  currentChunks: z.object({ done: z.number().int().nonnegative(), total: z.number().int().nonnegative() }).optional(),
  file: FileOutcome.optional(),
  summary: IngestSummary.optional(),
  message: z.string().optional(),
});
export type DocsProgressEvent = z.infer<typeof DocsProgressEvent>;

export const DocsStatus = z.object({
  documents: z.number().int().nonnegative(),
  chunks: z.number().int().nonnegative(),
  watched: z.array(z.string()),
  /** The vector index: `idle` until the first ingestion or search starts it; `unsupported`: keyword search only. */
  vectorStore: z.object({
    kind: z.enum(['local', 'remote', 'unsupported']),
    state: z.string(),
    message: z.string().optional(),
  }),
  embedder: z.string(),
  /** Jobs queued or running. */
  jobs: z.array(z.object({ jobId: z.string(), filesTotal: z.number().int(), filesDone: z.number().int() })),
});
export type DocsStatus = z.infer<typeof DocsStatus>;

const PathArg = z.string().min(1).max(4096);

export const documentsCommandSchemas = {
  /** Queues files and folders (folders recursively); progress arrives as docs-progress events. `watch`: keep folders in sync. */
  'docs:ingest': {
    args: z.object({ paths: z.array(PathArg).min(1).max(1000), watch: z.boolean().optional() }),
    result: z.object({ jobId: z.string() }),
  },
  /** A file dropped on the app in a browser (no path): its bytes are kept in the data dir and ingested from there. */
  'docs:upload': {
    args: z.object({ name: z.string().min(1).max(255), dataBase64: z.string().max(30_000_000) }),
    result: z.object({ jobId: z.string() }),
  },
  'docs:cancel': { args: z.object({ jobId: z.string() }), result: z.object({ cancelled: z.boolean() }) },
  'docs:list': { args: z.object({}).optional(), result: z.object({ documents: z.array(DocumentInfo) }) },
  'docs:status': { args: z.object({}).optional(), result: DocsStatus },
  /** Removes a document by id or path; a folder path removes every document under it and stops watching it. */
  'docs:remove': { args: z.object({ target: PathArg }), result: z.object({ removed: z.number().int().nonnegative() }) },
  'docs:search': {
    args: z.object({ query: z.string().max(8000), limit: z.number().int().min(1).max(50).optional() }),
    result: z.object({ results: z.array(SearchResult), notice: z.string().optional() }),
  },
  /** One chunk in full, to open a citation. */
  'docs:chunk': {
    args: z.object({ chunkId: z.string().min(1).max(400) }),
    result: z.object({ source: z.string(), chunk: z.number().int(), headingPath: z.array(z.string()), text: z.string() }),
  },
} as const;
