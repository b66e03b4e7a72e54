import { useRef } from 'react';
import type { DocsStatus } from '../../src-shared/contract/index.js';
import { jobEnded } from '../state/documentJobs.js';
import { useDocuments } from '../state/documentsStore.dom.js';
import { DocumentJobProgress } from './DocumentJobProgress.dom.js';
import { DocumentList, WatchedFolders } from './DocumentList.dom.js';
import { Panel, PanelButton, PanelError } from './Panel.dom.js';

/** Opens and closes the documents panel; shows how far a running job is. */
export function DocumentsButton() {
  const open = useDocuments((state) => state.panelOpen);
  const toggle = useDocuments((state) => state.togglePanel);
  const jobs = useDocuments((state) => state.jobs);
  const going = jobs.filter((job) => !jobEnded(job));
  const only = going.length === 1 ? going[0]! : undefined;
  const badge = only ? (only.filesTotal > 0 && only.state === 'running' ? `${only.filesDone}/${only.filesTotal}` : 'adding') : going.length > 1 ? `${going.length} jobs` : null;
  return <PanelButton name="documents" label="Documents" open={open} onToggle={toggle} badge={badge} />;
}

/** "Add documents…": the system's file chooser, several files at once. */
export function AddDocumentsButton() {
  const addFiles = useDocuments((state) => state.addFiles);
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button type="button" className="button button--small button--primary" data-testid="documents-add" onClick={() => input.current?.click()}>
        Add documents…
      </button>
      <input
        ref={input}
        type="file"
        multiple
        className="visually-hidden"
        tabIndex={-1}
        aria-hidden="true"
        data-testid="documents-file-input"
        onChange={(event) => {
          const files = [...(event.target.files ?? [])];
          // Cleared, so choosing the same file again (after editing it) is a change too.
          event.target.value = '';
          void addFiles(files);
        }}
      />
    </>
  );
}

/** What limits search right now, in plain words; null when nothing does. */
function limitedText(vectorStore: DocsStatus['vectorStore']): string | null {
  if (vectorStore.kind === 'unsupported') return `Documents are limited to keyword search: ${vectorStore.message ?? 'the search index cannot run here.'}`;
  return vectorStore.message ?? null;
}

/** The user's documents: add them (or drop them anywhere), watch each job, and the list with Remove. */
export function DocumentsPanel() {
  const open = useDocuments((state) => state.panelOpen);
  const close = useDocuments((state) => state.closePanel);
  const jobs = useDocuments((state) => state.jobs);
  const status = useDocuments((state) => state.status);
  const libraryError = useDocuments((state) => state.libraryError);
  const messages = useDocuments((state) => state.messages);
  const dismissMessage = useDocuments((state) => state.dismissMessage);
  const usesPaths = useDocuments((state) => state.usesPaths);
  const watchFolders = useDocuments((state) => state.watchFolders);
  const setWatchFolders = useDocuments((state) => state.setWatchFolders);
  if (!open) return null;
  const limited = status ? limitedText(status.vectorStore) : null;

  return (
    <Panel name="documents" title="Documents" className="documents-panel" onClose={close}>
      <div className="documents-toolbar">
        <AddDocumentsButton />
        <span className="models-id">or drop files{usesPaths ? ' and folders' : ''} anywhere on the window</span>
        {usesPaths && (
          <label className="documents-watch">
            <input type="checkbox" data-testid="documents-watch" checked={watchFolders} onChange={(event) => setWatchFolders(event.target.checked)} />
            Keep added folders in sync
          </label>
        )}
      </div>
      {status && (
        <p className="models-dir" data-testid="documents-facts">
          {status.documents} {status.documents === 1 ? 'document' : 'documents'} · {status.chunks} chunks
        </p>
      )}
      {limited !== null && (
        <p className="documents-limited" data-testid="documents-limited" role="status">
          {limited}
        </p>
      )}
      {libraryError !== null && <PanelError data-testid="documents-error">{libraryError}</PanelError>}
      {messages.map((message) => (
        <PanelError key={message.id} data-testid="documents-message" onDismiss={() => dismissMessage(message.id)}>
          {message.message}
        </PanelError>
      ))}
      {jobs.length > 0 && (
        <div className="document-jobs" data-testid="document-jobs">
          {jobs.map((job) => (
            <DocumentJobProgress key={job.key} job={job} />
          ))}
        </div>
      )}
      <DocumentList />
      <WatchedFolders />
    </Panel>
  );
}
