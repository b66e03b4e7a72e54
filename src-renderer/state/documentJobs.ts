import { documentsCommandSchemas, type DocsProgressEvent, type IngestSummary } from '../../src-shared/contract/index.js';

/**
 * `sending`: a dropped file's bytes are on their way (no job id yet). `queued`: the agent took it and runs the jobs
 * before it first. Then the states of `docs-progress`.
 */
export type DocumentJobState = 'sending' | 'queued' | DocsProgressEvent['state'];

export interface FailedFile {
  source: string;
  reason: string;
}

/** One ingestion job as the documents panel shows it. */
export interface DocumentJob {
  /** React key: the job id, or `send:<n>` while the upload that makes it is on its way. */
  key: string;
  jobId?: string;
  /** What the user added ("sourdough.md", "3 files"); absent for jobs this window did not start (a watched folder). */
  label?: string;
  state: DocumentJobState;
  filesTotal: number;
  filesDone: number;
  /** The file being read or embedded now, and its chunks embedded so far. */
  current?: string;
  currentChunks?: { done: number; total: number };
  /** Files that could not be added, with why: listed as they happen, never silently dropped. */
  failed: FailedFile[];
  summary?: IngestSummary;
  message?: string;
}

const ENDED: ReadonlySet<DocumentJobState> = new Set(['done', 'cancelled', 'failed']);

export function jobEnded(job: Pick<DocumentJob, 'state'>): boolean {
  return ENDED.has(job.state);
}

/** Whether a job is one the user can still cancel (it has an id and has not ended). */
export function jobCancellable(job: Pick<DocumentJob, 'state' | 'jobId'>): boolean {
  return job.jobId !== undefined && (job.state === 'queued' || job.state === 'running');
}

export function newJob(jobId: string, fields: Partial<DocumentJob> = {}): DocumentJob {
  return { key: jobId, jobId, state: 'queued', filesTotal: 0, filesDone: 0, failed: [], ...fields };
}

function withFailure(failed: FailedFile[], entry: FailedFile): FailedFile[] {
  return failed.some((each) => each.source === entry.source) ? failed : [...failed, entry];
}

/**
 * A job after one `docs-progress` event. Events of a job arrive in order: the first has the file count, each file's
 * outcome comes as it finishes, chunk progress while a large file is embedded, and the last has the summary.
 */
export function applyDocsProgress(job: DocumentJob | undefined, event: DocsProgressEvent): DocumentJob {
  const base = job ?? newJob(event.jobId);
  // A job that ended stays ended: a late event cannot bring its bar back.
  if (jobEnded(base)) return base;
  const next: DocumentJob = { ...base, state: event.state, filesTotal: event.filesTotal, filesDone: event.filesDone };
  if (event.current !== undefined) {
    next.current = event.current;
    if (event.currentChunks) next.currentChunks = event.currentChunks;
    else delete next.currentChunks;
  } else if (event.file && event.file.source === base.current) {
    delete next.current;
    delete next.currentChunks;
  }
  if (event.file?.status === 'failed') next.failed = withFailure(next.failed, { source: event.file.source, reason: event.file.reason ?? 'It could not be added.' });
  if (event.summary) {
    next.summary = event.summary;
    // The summary is the whole list: it also names files that failed before this window was listening.
    next.failed = event.summary.failed.reduce(withFailure, next.failed);
  }
  if (event.message !== undefined) next.message = event.message;
  if (event.state !== 'running') {
    delete next.current;
    delete next.currentChunks;
  }
  return next;
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "2 documents added (14 chunks), 1 unchanged, 1 failed" (and "N removed" when a watched folder lost files). */
export function summaryText(summary: IngestSummary): string {
  const parts = [
    `${count(summary.documents, 'document', 'documents')} added (${count(summary.chunks, 'chunk', 'chunks')})`,
    `${summary.unchanged} unchanged`,
    ...(summary.removed > 0 ? [`${summary.removed} removed`] : []),
    `${summary.failed.length} failed`,
  ];
  return parts.join(', ');
}

/** The last part of a path, whichever separator it uses (the agent may run on Windows). */
export function fileName(source: string): string {
  const trimmed = source.replace(/[\\/]+$/, '');
  const cut = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return cut === -1 ? trimmed : trimmed.slice(cut + 1);
}

/** What a job added, as its heading: one name, or how many. */
export function labelOf(names: readonly string[]): string {
  return names.length === 1 ? fileName(names[0]!) : `${names.length} files`;
}

/** `docs:upload` takes at most this many characters of base64 ... */
export const MAX_UPLOAD_BASE64_CHARS = documentsCommandSchemas['docs:upload'].args.shape.dataBase64.maxLength ?? 30_000_000;
/** ... which is this many bytes of file (base64 writes 4 characters per 3 bytes). */
export const MAX_UPLOAD_BYTES = Math.floor(MAX_UPLOAD_BASE64_CHARS / 4) * 3;

/** Whole percent of a job's files done; a file being embedded counts by its chunks. Null before the count is known. */
export function jobPercent(job: Pick<DocumentJob, 'filesTotal' | 'filesDone' | 'currentChunks'>): number | null {
  if (job.filesTotal <= 0) return null;
  const partial = job.currentChunks && job.currentChunks.total > 0 ? job.currentChunks.done / job.currentChunks.total : 0;
  return Math.max(0, Math.min(100, Math.floor(((job.filesDone + partial) / job.filesTotal) * 100)));
}
