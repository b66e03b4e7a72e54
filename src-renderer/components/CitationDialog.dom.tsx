import { useEffect, useRef } from 'react';
import { fileName } from '../state/documentJobs.js';
import { useDocuments } from '../state/documentsStore.dom.js';

/**
 * A cited passage in full (`docs:chunk`): its file, the headings it sits under, and its text, or why it cannot be read
 * any more. A modal dialog: Escape or Close returns to the conversation, focus back on the chip that opened it.
 */
export function CitationDialog() {
  const open = useDocuments((state) => state.openCitation);
  const close = useDocuments((state) => state.closeCitation);
  const dialog = useRef<HTMLDialogElement>(null);
  const shown = open !== null;

  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (shown && !element.open) element.showModal();
    else if (!shown && element.open) element.close();
  }, [shown]);

  const citation = open?.citation;
  return (
    <dialog ref={dialog} className="citation-dialog" data-testid="citation-dialog" aria-labelledby="citation-dialog-title" onClose={close}>
      {citation && (
        <>
          <header className="panel-header">
            <h2 className="panel-title" id="citation-dialog-title">
              {fileName(citation.source)}#{citation.chunk}
            </h2>
            <button type="button" className="banner-dismiss" data-testid="citation-dialog-close" aria-label="Close passage" onClick={close}>
              ×
            </button>
          </header>
          <p className="citation-dialog-source">
            <code data-testid="citation-dialog-source">{open.chunk?.source ?? citation.source}</code>
          </p>
          {open.chunk && open.chunk.headingPath.length > 0 && (
            <p className="citation-dialog-headings" data-testid="citation-dialog-headings">
              {open.chunk.headingPath.join(' › ')}
            </p>
          )}
          {open.error !== null ? (
            <p className="panel-error" data-testid="citation-dialog-error" role="alert">
              {open.error}
            </p>
          ) : open.chunk === null ? (
            <p className="models-empty">Loading…</p>
          ) : (
            <div className="citation-dialog-text" data-testid="citation-dialog-text">
              {open.chunk.text}
            </div>
          )}
        </>
      )}
    </dialog>
  );
}
