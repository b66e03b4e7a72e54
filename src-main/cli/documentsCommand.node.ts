import cliProgress from 'cli-progress';
import { toErrorShape, type AgentEvent, type DocsProgressEvent, type IngestSummary } from '../../src-shared/contract/index.js';
import { resolveAgentConfig, type AgentConfig } from '../agent/agentConfig.node.js';
import { readEnvSettings } from '../agent/agentSettings.node.js';
import { createDocumentLibrary } from '../app/documentLibraryFactory.node.js';
import { createFileLogger } from '../app/fileLogger.node.js';
import type { DocumentLibrary } from '../documents/documentLibrary.node.js';
import { formatBytes } from '../models/modelResolver.node.js';
import { jsonLine, writeCommandError, writeSettingError, writeUsageError, type CommandIo } from './commandIo.js';
import { parseCommandLine } from './commandLine.node.js';
import { printable } from './historyCommand.node.js';

export const INGEST_USAGE = `Usage: assistant ingest <file or folder>... [--watch] [--json] [--data-dir <dir>]

Adds documents (txt, md, html, pdf, docx; folders recursively) so that answers can use and cite them. An unchanged
file is skipped; a changed one replaces its old version. A file that cannot be read is reported with the reason, and
the others go on. Ctrl+C cancels: the files finished before it are kept whole.

Options:
  --watch            Keep the folders in sync (added, changed and deleted files) until Ctrl+C; the app keeps watching them too.
  --json             One NDJSON progress event per file, then {"type":"ingested",...}.
`;

export const DOCS_USAGE = `Usage: assistant docs list [--json] [--data-dir <dir>]
       assistant docs rm <id | file | folder> [--json] [--data-dir <dir>]

list: the ingested documents. rm: removes a document (by id or path), or every document under a folder (and stops
watching it).
`;

export const SEARCH_USAGE = `Usage: assistant search "query" [--json] [--limit <n>] [--data-dir <dir>]

Searches the ingested documents as a question would (meaning and keywords together) and prints the best passages
with their source and score. A query unrelated to every document prints no results.
`;

type Opened = { library: DocumentLibrary; config: AgentConfig; close(): Promise<void> };

/** The documents library alone: no chat model, no voice. Returns the exit code when it cannot be opened. */
function openLibrary(args: string[], dataDir: string | undefined, io: CommandIo, json: boolean, emit: (event: AgentEvent) => void): Opened | number {
  let config: AgentConfig;
  try {
    readEnvSettings(process.env);
    config = resolveAgentConfig(dataDir === undefined ? {} : { dataDir });
  } catch (error) {
    return writeSettingError(io, args, error);
  }
  if (!config.documents.enabled) {
    writeCommandError(io, json, { code: 'NOT_FOUND', message: 'Documents are turned off (ASSISTANT_DOCUMENTS=off).' });
    return 1;
  }
  try {
    const fileLog = createFileLogger({ dataDir: config.dataDir, level: config.logLevel });
    const library = createDocumentLibrary(config, { emit, logger: fileLog.logger });
    return {
      library,
      config,
      close: async () => {
        await library.close();
        await fileLog.close();
      },
    };
  } catch (error) {
    writeCommandError(io, json, toErrorShape(error));
    return 1;
  }
}

/** `assistant ingest`. */
export async function runIngestCommand(args: string[], io: CommandIo): Promise<number> {
  const parsed = parseCommandLine(args, { json: { type: 'boolean' }, watch: { type: 'boolean' }, 'data-dir': { type: 'string' } }, INGEST_USAGE, io);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const json = values.json === true;
  if (positionals.length === 0) return writeUsageError(io, args, 'Which files or folders? Give at least one path.', INGEST_USAGE);
  const view = new IngestProgressView(io, json);
  const opened = openLibrary(args, values['data-dir'], io, json, (event) => view.show(event));
  if (typeof opened === 'number') return opened;
  const { library } = opened;
  // Documents of an embedder used before are embedded again first, so the new ones are searched alongside them.
  library.reembedStale();
  const { jobId, done } = library.ingest(positionals, values.watch === true);
  let cancelled = false;
  let watching = false;
  let stopWatching: () => void = () => undefined;
  const onSigint = () => {
    if (watching) return stopWatching();
    cancelled = true;
    library.cancel(jobId);
  };
  process.on('SIGINT', onSigint);
  try {
    const summary = await done;
    view.finish(summary);
    if (values.watch === true && !cancelled) {
      watching = true;
      if (!json) io.stderr.write(`Watching ${library.status().watched.join(', ') || 'nothing (no folders given)'} — Ctrl+C stops.\n`);
      await new Promise<void>((resolve) => (stopWatching = resolve));
    }
    if (cancelled) return 130;
    return summary.failed.length > 0 ? 1 : 0;
  } finally {
    process.off('SIGINT', onSigint);
    await opened.close();
  }
}

/** `assistant docs list | rm`. */
export async function runDocsCommand(args: string[], io: CommandIo): Promise<number> {
  const parsed = parseCommandLine(args, { json: { type: 'boolean' }, 'data-dir': { type: 'string' } }, DOCS_USAGE, io);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const json = values.json === true;
  const [action, ...targets] = positionals;
  if (action !== 'list' && action !== 'rm') return writeUsageError(io, args, action === undefined ? 'list or rm?' : `Unknown docs action "${action}".`, DOCS_USAGE);
  if (action === 'list' && targets.length > 0) return writeUsageError(io, args, 'docs list takes no arguments.', DOCS_USAGE);
  if (action === 'rm' && targets.length === 0) return writeUsageError(io, args, 'Which document? Give its id or path (see "assistant docs list").', DOCS_USAGE);
  const opened = openLibrary(args, values['data-dir'], io, json, () => undefined);
  if (typeof opened === 'number') return opened;
  return runWithLibrary(opened, io, json, async (library) => {
    if (action === 'list') {
      const documents = library.listDocuments().map(({ id, source, chunks, bytes, ingestedAt }) => ({ id, source, chunks, bytes, ingestedAt }));
      if (json) io.stdout.write(jsonLine({ type: 'documents', documents }));
      else if (documents.length === 0) io.stdout.write('No documents yet. Add some with: assistant ingest <file or folder>\n');
      else {
        for (const doc of documents) {
          io.stdout.write(`${doc.id}  ${String(doc.chunks).padStart(5)} chunks  ${formatBytes(doc.bytes).padStart(9)}  ${new Date(doc.ingestedAt).toISOString().slice(0, 16)}  ${printable(doc.source)}\n`);
        }
      }
      return 0;
    }
    let removed = 0;
    for (const target of targets) removed += await library.remove(target);
    io.stdout.write(json ? jsonLine({ type: 'removed', removed }) : `Removed ${removed} document${removed === 1 ? '' : 's'}.\n`);
    return 0;
  });
}

/** `assistant search`. */
export async function runSearchCommand(args: string[], io: CommandIo): Promise<number> {
  const parsed = parseCommandLine(args, { json: { type: 'boolean' }, limit: { type: 'string' }, 'data-dir': { type: 'string' } }, SEARCH_USAGE, io);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const json = values.json === true;
  const query = positionals.join(' ');
  if (query.trim() === '') return writeUsageError(io, args, 'What should be searched for? Give a query.', SEARCH_USAGE);
  if (query.length > 8000) return writeUsageError(io, args, `The query is too long (${query.length} characters; at most 8000).`, SEARCH_USAGE);
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 50)) {
    return writeUsageError(io, args, '--limit must be a whole number from 1 to 50.', SEARCH_USAGE);
  }
  const notices: string[] = [];
  const opened = openLibrary(args, values['data-dir'], io, json, (event) => {
    if (event.type === 'notice') notices.push(event.message);
  });
  if (typeof opened === 'number') return opened;
  return runWithLibrary(opened, io, json, async (library) => {
    const found = await library.searchResults(query, limit);
    const results = found.results.map(({ source, chunk, score, text }) => ({ source, chunk, score, text }));
    if (json) io.stdout.write(jsonLine({ type: 'results', results, ...(found.notice && { notice: found.notice }) }));
    else {
      if (found.notice) io.stderr.write(`[warning] ${found.notice}\n`);
      if (results.length === 0) io.stdout.write('No passage of your documents matches.\n');
      results.forEach((result, index) => {
        const text = printable(result.text.replace(/\s+/g, ' ').trim());
        io.stdout.write(`[${index + 1}] ${printable(result.source)} #${result.chunk}  (score ${result.score.toFixed(2)})\n    ${text.length > 300 ? `${text.slice(0, 300)}…` : text}\n`);
      });
    }
    return 0;
  });
}

/** Runs a command on the opened library: any error is one line (JSON with --json) and exit 1; the library is always closed. */
async function runWithLibrary(opened: Opened, io: CommandIo, json: boolean, action: (library: DocumentLibrary) => Promise<number>): Promise<number> {
  try {
    return await action(opened.library);
  } catch (error) {
    writeCommandError(io, json, toErrorShape(error));
    return 1;
  } finally {
    await opened.close();
  }
}

/** Ingestion progress: one NDJSON line per file with --json; a bar on a terminal; a line per problem otherwise. */
class IngestProgressView {
  private bar: cliProgress.SingleBar | undefined;

  constructor(
    private readonly io: CommandIo,
    private readonly json: boolean,
  ) {}

  show(event: AgentEvent): void {
    if (event.type === 'notice') {
      if (this.json) this.io.stdout.write(jsonLine(event));
      else this.io.stderr.write(`[${event.level}] ${event.message}\n`);
      return;
    }
    if (event.type !== 'docs-progress') return;
    if (this.json) {
      if (event.file || event.state !== 'running') this.io.stdout.write(jsonLine(withoutSummary(event)));
      return;
    }
    if (event.file?.status === 'failed') this.log(`✗ ${printable(event.file.reason ?? event.file.source)}`);
    if (event.state === 'cancelled' || event.state === 'failed') this.log(event.message ?? event.state);
    if (!this.io.stderr.isTTY) return;
    if (!this.bar && event.filesTotal > 0) {
      this.bar = new cliProgress.SingleBar(
        { stream: this.io.stderr as NodeJS.WritableStream, format: 'Ingesting [{bar}] {value}/{total} files | {current}', hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(event.filesTotal, event.filesDone, { current: '' });
    }
    const current = event.current ? `${shortName(event.current)}${event.currentChunks ? ` ${event.currentChunks.done}/${event.currentChunks.total} chunks` : ''}` : '';
    this.bar?.setTotal(event.filesTotal);
    this.bar?.update(event.filesDone, { current });
  }

  finish(summary: IngestSummary): void {
    this.bar?.stop();
    this.bar = undefined;
    if (this.json) {
      this.io.stdout.write(jsonLine({ type: 'ingested', documents: summary.documents, chunks: summary.chunks, unchanged: summary.unchanged, failed: summary.failed }));
      return;
    }
    const parts = [`${summary.documents} document${summary.documents === 1 ? '' : 's'} ingested (${summary.chunks} chunks)`];
    if (summary.unchanged > 0) parts.push(`${summary.unchanged} unchanged`);
    if (summary.removed > 0) parts.push(`${summary.removed} removed`);
    if (summary.failed.length > 0) parts.push(`${summary.failed.length} failed`);
    this.io.stdout.write(`${parts.join(', ')}.\n`);
  }

  private log(line: string): void {
    if (this.bar) this.io.stderr.write('\n');
    this.io.stderr.write(`${line}\n`);
  }
}

function withoutSummary(event: DocsProgressEvent): DocsProgressEvent {
  // The final summary is printed once, as the "ingested" line.
  const { summary: _summary, ...rest } = event;
  return rest;
}

function shortName(file: string): string {
  const name = file.split(/[\\/]/).pop() ?? file;
  return name.length > 40 ? `${name.slice(0, 37)}…` : name;
}
