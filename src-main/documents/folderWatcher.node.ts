import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { AgentLogger } from '../agent/agentLogger.js';
import { isSupportedDocumentPath } from './documentExtraction.node.js';

export interface FolderChanges {
  /** Files added or changed (ingesting an unchanged file costs only its hash). */
  changed: string[];
  /** Files deleted or renamed away. */
  removed: string[];
}

/**
 * Keeps watched folders in sync: chokidar reports additions, changes and deletions of supported documents (hidden
 * files skipped, writes awaited until the file stops growing), and they are handed on in debounced batches, so saving
 * a file ten times or copying a hundred files makes one ingestion job.
 */
export class FolderWatcher {
  private watcher: FSWatcher | undefined;
  private pending: FolderChanges = { changed: [], removed: [] };
  private timer: NodeJS.Timeout | undefined;
  private scanned: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: {
      onChanges: (changes: FolderChanges) => void;
      logger: AgentLogger;
      debounceMs?: number;
      /** How long a file must stop changing before it is read (a large copy in progress). */
      writeSettleMs?: number;
    },
  ) {}

  watch(folders: readonly string[]): void {
    if (folders.length === 0) return;
    if (this.watcher) {
      this.watcher.add([...folders]);
      return;
    }
    this.watcher = watch([...folders], {
      ignoreInitial: true,
      // Hidden files and folders (.git, editor swap files) and anything that is not a document are not watched.
      ignored: (file, stats) => path.basename(file).startsWith('.') || (stats?.isFile() === true && !isSupportedDocumentPath(file)),
      awaitWriteFinish: { stabilityThreshold: this.options.writeSettleMs ?? 400, pollInterval: 100 },
      persistent: true,
    });
    const watcher = this.watcher;
    this.scanned = new Promise((resolve) => watcher.once('ready', () => resolve()));
    this.watcher
      .on('add', (file) => this.note('changed', file))
      .on('change', (file) => this.note('changed', file))
      .on('unlink', (file) => this.note('removed', file))
      .on('error', (error) => this.options.logger.warn({ reason: error instanceof Error ? error.message : String(error) }, 'folder watch error'));
  }

  unwatch(folder: string): void {
    this.watcher?.unwatch(folder);
  }

  /** Resolves once the watcher has scanned its folders (tests wait for this before changing files). */
  ready(): Promise<void> {
    return this.scanned;
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.watcher?.close();
    this.watcher = undefined;
  }

  private note(kind: keyof FolderChanges, file: string): void {
    if (!isSupportedDocumentPath(file)) return;
    const other = kind === 'changed' ? 'removed' : 'changed';
    this.pending[other] = this.pending[other].filter((each) => each !== file);
    if (!this.pending[kind].includes(file)) this.pending[kind].push(file);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), this.options.debounceMs ?? 500);
  }

  private flush(): void {
    this.timer = undefined;
    const changes = this.pending;
    this.pending = { changed: [], removed: [] };
    if (changes.changed.length + changes.removed.length > 0) this.options.onChanges(changes);
  }
}
