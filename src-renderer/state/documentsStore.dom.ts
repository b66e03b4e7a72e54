import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { AgentEvent, Citation, CommandResult, DocsStatus, DocumentInfo } from '../../src-shared/contract/index.js';
import type { HostAgentClient } from '../transport/hostConnection.js';
import { coalesced } from './coalescedRefresh.js';
import { applyDocsProgress, jobEnded, labelOf, MAX_UPLOAD_BYTES, newJob, type DocumentJob } from './documentJobs.js';
import { followHost } from './followHost.js';
import { formatBytes } from './modelFormat.js';
import { errorText, withEntry, withoutEntry } from './storeHelpers.js';

export type DocumentChunk = CommandResult<'docs:chunk'>;

/** A citation opened from under an answer: its chunk in full once `docs:chunk` answers, or why it could not be read. */
export interface OpenCitation {
  citation: Citation;
  chunk: DocumentChunk | null;
  error: string | null;
}

export interface DocumentsMessage {
  id: number;
  message: string;
}

export interface DocumentsState {
  /** Jobs started here or seen running, oldest first; an ended one stays (with its summary) until dismissed. */
  jobs: DocumentJob[];
  /** What `docs:list` and `docs:status` said last; null until they answered. */
  documents: DocumentInfo[] | null;
  status: DocsStatus | null;
  /** Why the list could not be read (e.g. documents are turned off); null when it could. */
  libraryError: string | null;
  /** Files refused before anything was sent (too big, unreadable), and failed Remove / Cancel calls. */
  messages: DocumentsMessage[];
  /** A Remove on its way, per target (document id or folder). */
  removing: Record<string, true>;
  /** Cancels on their way, per job id. */
  cancelling: Record<string, true>;
  /** The citations each answer of this session was given with, by turn id. Only `done` events carry them. */
  citations: Record<string, Citation[]>;
  openCitation: OpenCitation | null;
  /** Dropped folders are kept in sync (only where files have paths, i.e. in the desktop app). */
  watchFolders: boolean;
  /** Files arrive with real paths (Electron), so the agent reads them in place. */
  readonly usesPaths: boolean;
  panelOpen: boolean;

  /** Follows `docs-progress` and `done` events and loads the list now and after every reconnect; returns the unsubscribe. */
  start(): () => void;
  refresh(): Promise<void>;
  /** Adds files (and, with paths, folders): paths go to `docs:ingest`, other files are uploaded one by one. */
  addFiles(files: readonly File[]): Promise<void>;
  cancel(jobId: string): Promise<void>;
  dismissJob(key: string): void;
  /** Removes a document (by id) or stops watching a folder (by path). */
  remove(target: string): Promise<void>;
  openCitationOf(citation: Citation): Promise<void>;
  closeCitation(): void;
  /** Shows a problem in the panel (e.g. a dropped folder that could not be read). */
  report(message: string): void;
  dismissMessage(id: number): void;
  setWatchFolders(watch: boolean): void;
  togglePanel(): void;
  openPanel(): void;
  closePanel(): void;
}

export type DocumentsStore = StoreApi<DocumentsState>;

export interface DocumentsStoreOptions {
  /** Electron's preload: a dropped file's path on disk, or null for a file that has none. Absent in a browser. */
  pathForFile?: (file: File) => string | null;
  /** A file's bytes as base64, for `docs:upload`. */
  readBase64: (file: File) => Promise<string>;
}

/** Answers of this session whose citations are kept. */
const REMEMBERED_CITATION_TURNS = 200;
/** Ended jobs kept on screen; older ones go. */
const KEPT_ENDED_JOBS = 5;
const MAX_MESSAGES = 5;

/** Keeps the last few ended jobs (and every job still going). */
function trimEnded(jobs: DocumentJob[]): DocumentJob[] {
  const ended = jobs.filter(jobEnded);
  if (ended.length <= KEPT_ENDED_JOBS) return jobs;
  const dropped = new Set(ended.slice(0, ended.length - KEPT_ENDED_JOBS));
  return jobs.filter((job) => !dropped.has(job));
}

/**
 * The documents panel, the drop overlay and the sources under answers share this store: ingestion jobs from
 * `docs-progress` events, the library from `docs:list` / `docs:status`, and each answer's citations from its `done`.
 */
export function createDocumentsStore(client: HostAgentClient, options: DocumentsStoreOptions): DocumentsStore {
  return createStore<DocumentsState>()((set, get) => {
    let nextSend = 1;
    let nextMessage = 1;
    let citationRequest = 0;
    const citationTurns: string[] = [];

    function say(message: string): void {
      set({ messages: [...get().messages, { id: nextMessage++, message }].slice(-MAX_MESSAGES) });
    }

    function updateJob(jobId: string, update: (job: DocumentJob | undefined) => DocumentJob): void {
      const jobs = get().jobs;
      const index = jobs.findIndex((job) => job.jobId === jobId);
      if (index === -1) set({ jobs: trimEnded([...jobs, update(undefined)]) });
      else set({ jobs: trimEnded(jobs.map((job, at) => (at === index ? update(job) : job))) });
    }

    /** A job the agent accepted: the placeholder `sendKey` (if any) becomes it, or merges into it if events came first. */
    function accepted(jobId: string, label: string, sendKey?: string): void {
      const jobs = get().jobs.filter((job) => job.key !== sendKey);
      const known = jobs.some((job) => job.jobId === jobId);
      set({ jobs: known ? jobs.map((job) => (job.jobId === jobId ? { ...job, label } : job)) : [...jobs, newJob(jobId, { label })] });
    }

    async function load(): Promise<void> {
      try {
        const [list, status] = await Promise.all([client.call('docs:list'), client.call('docs:status')]);
        const jobs = get().jobs;
        // Jobs the agent is running that this window has not heard of (another window, a watched folder, a restart).
        const unknown = status.jobs.filter((running) => !jobs.some((job) => job.jobId === running.jobId));
        set({
          documents: list.documents,
          status,
          libraryError: null,
          ...(unknown.length > 0 && {
            jobs: [...jobs, ...unknown.map((running) => newJob(running.jobId, { state: 'running', filesTotal: running.filesTotal, filesDone: running.filesDone }))],
          }),
        });
      } catch (error) {
        set({ libraryError: errorText(error) });
      }
    }

    /** A burst of events costs at most two loads. */
    const refresh = coalesced(load);

    function rememberCitations(turnId: string, citations: Citation[]): void {
      citationTurns.push(turnId);
      let kept = withEntry(get().citations, turnId, citations);
      while (citationTurns.length > REMEMBERED_CITATION_TURNS) kept = withoutEntry(kept, citationTurns.shift()!);
      set({ citations: kept });
    }

    function onEvent(event: AgentEvent): void {
      switch (event.type) {
        case 'docs-progress': {
          updateJob(event.jobId, (job) => applyDocsProgress(job, event));
          if (event.state !== 'running') {
            set({ cancelling: withoutEntry(get().cancelling, event.jobId) });
            void refresh();
          }
          return;
        }
        case 'done':
          // Kept apart from the answer's text: the text is what is spoken, the sources are only shown.
          if (event.citations.length > 0) rememberCitations(event.turnId, event.citations);
          return;
        case 'notice':
          // "Documents are limited to keyword search: …" and its all-clear change what docs:status says.
          if (get().status !== null) void refresh();
          return;
      }
    }

    async function upload(file: File): Promise<void> {
      const key = `send:${nextSend++}`;
      set({ jobs: [...get().jobs, { key, label: file.name, state: 'sending', filesTotal: 1, filesDone: 0, failed: [] }] });
      const drop = () => set({ jobs: get().jobs.filter((job) => job.key !== key) });
      let dataBase64: string;
      try {
        dataBase64 = await options.readBase64(file);
      } catch (error) {
        drop();
        say(`${file.name} could not be read: ${errorText(error)}`);
        return;
      }
      try {
        const { jobId } = await client.call('docs:upload', { name: file.name, dataBase64 });
        accepted(jobId, file.name, key);
      } catch (error) {
        drop();
        say(`${file.name} was not added: ${errorText(error)}`);
      }
    }

    async function ingestPaths(paths: string[]): Promise<void> {
      try {
        const { jobId } = await client.call('docs:ingest', { paths, ...(get().watchFolders && { watch: true }) });
        accepted(jobId, labelOf(paths));
      } catch (error) {
        say(`${labelOf(paths)} ${paths.length === 1 ? 'was' : 'were'} not added: ${errorText(error)}`);
      }
    }

    return {
      jobs: [],
      documents: null,
      status: null,
      libraryError: null,
      messages: [],
      removing: {},
      cancelling: {},
      citations: {},
      openCitation: null,
      watchFolders: false,
      usesPaths: options.pathForFile !== undefined,
      panelOpen: false,

      start() {
        return followHost(client, {
          onEvent,
          load: refresh,
          afterDrop() {
            // Events were missed while away: jobs seen running may have ended. docs:status names the ones still going.
            set({ jobs: get().jobs.filter((job) => jobEnded(job) || job.state === 'sending'), cancelling: {} });
          },
        });
      },

      refresh,

      async addFiles(files) {
        if (files.length === 0) return;
        set({ panelOpen: true });
        const paths: string[] = [];
        const uploads: File[] = [];
        for (const file of files) {
          const path = options.pathForFile?.(file) ?? null;
          if (path) paths.push(path);
          else if (file.size > MAX_UPLOAD_BYTES) {
            say(`${file.name} is too big to add here: ${formatBytes(file.size)}, and at most ${formatBytes(MAX_UPLOAD_BYTES)} can be sent from a browser.`);
          } else uploads.push(file);
        }
        if (paths.length > 0) await ingestPaths(paths);
        // One at a time: each upload holds its whole file in memory as base64.
        for (const file of uploads) await upload(file);
      },

      async cancel(jobId) {
        if (get().cancelling[jobId]) return;
        set({ cancelling: withEntry(get().cancelling, jobId, true) });
        try {
          // The job's last docs-progress event (state `cancelled`) is what updates the view.
          const { cancelled } = await client.call('docs:cancel', { jobId });
          if (!cancelled) set({ cancelling: withoutEntry(get().cancelling, jobId) });
        } catch (error) {
          set({ cancelling: withoutEntry(get().cancelling, jobId) });
          say(`Could not cancel: ${errorText(error)}`);
        }
      },

      dismissJob(key) {
        set({ jobs: get().jobs.filter((job) => job.key !== key || !jobEnded(job)) });
      },

      async remove(target) {
        if (get().removing[target]) return;
        set({ removing: withEntry(get().removing, target, true) });
        try {
          await client.call('docs:remove', { target });
        } catch (error) {
          say(errorText(error));
        } finally {
          set({ removing: withoutEntry(get().removing, target) });
          await refresh();
        }
      },

      async openCitationOf(citation) {
        const request = ++citationRequest;
        set({ openCitation: { citation, chunk: null, error: null } });
        try {
          const chunk = await client.call('docs:chunk', { chunkId: citation.chunkId });
          if (request === citationRequest && get().openCitation) set({ openCitation: { citation, chunk, error: null } });
        } catch (error) {
          if (request === citationRequest && get().openCitation) set({ openCitation: { citation, chunk: null, error: errorText(error) } });
        }
      },

      closeCitation() {
        citationRequest++;
        set({ openCitation: null });
      },

      report(message) {
        set({ panelOpen: true });
        say(message);
      },

      dismissMessage(id) {
        set({ messages: get().messages.filter((message) => message.id !== id) });
      },

      setWatchFolders(watch) {
        set({ watchFolders: watch });
      },

      togglePanel() {
        const open = !get().panelOpen;
        set({ panelOpen: open });
        if (open) void refresh();
      },

      openPanel() {
        if (!get().panelOpen) get().togglePanel();
      },

      closePanel() {
        set({ panelOpen: false });
      },
    };
  });
}

export const DocumentsStoreContext = createContext<DocumentsStore | null>(null);

export function useDocuments<T>(selector: (state: DocumentsState) => T): T {
  const store = useContext(DocumentsStoreContext);
  if (!store) throw new Error('useDocuments must be used inside <DocumentsStoreContext.Provider>.');
  return useStore(store, selector);
}
