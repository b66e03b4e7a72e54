import { useEffect, useRef, useState } from 'react';
import { droppedFiles } from '../documents/droppedFiles.dom.js';
import { useDocuments } from '../state/documentsStore.dom.js';
import { errorText } from '../state/storeHelpers.js';

function carriesFiles(event: DragEvent): boolean {
  return event.dataTransfer?.types.includes('Files') ?? false;
}

/**
 * Files (or folders) dragged anywhere over the window: an overlay says where they go, and dropping adds them to the
 * documents. Listens on the window, so no part of the page can swallow the drop (or let the browser open the file).
 */
export function DocumentDropOverlay() {
  const addFiles = useDocuments((state) => state.addFiles);
  const usesPaths = useDocuments((state) => state.usesPaths);
  const report = useDocuments((state) => state.report);
  const [dragging, setDragging] = useState(false);
  // dragenter and dragleave fire for every element crossed: count them to know when the drag left the window.
  const depth = useRef(0);

  useEffect(() => {
    const onEnter = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      depth.current += 1;
      setDragging(true);
    };
    const onOver = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    };
    const onLeave = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      depth.current = Math.max(0, depth.current - 1);
      if (depth.current === 0) setDragging(false);
    };
    const onDrop = (event: DragEvent) => {
      depth.current = 0;
      setDragging(false);
      if (!event.dataTransfer || !carriesFiles(event)) return;
      event.preventDefault();
      droppedFiles(event.dataTransfer, { walkFolders: !usesPaths }).then(addFiles, (error: unknown) =>
        report(`The dropped folder could not be read: ${errorText(error)}`),
      );
    };
    window.addEventListener('dragenter', onEnter);
    window.addEventListener('dragover', onOver);
    window.addEventListener('dragleave', onLeave);
    window.addEventListener('drop', onDrop);
    return () => {
      window.removeEventListener('dragenter', onEnter);
      window.removeEventListener('dragover', onOver);
      window.removeEventListener('dragleave', onLeave);
      window.removeEventListener('drop', onDrop);
    };
  }, [addFiles, usesPaths, report]);

  if (!dragging) return null;
  return (
    <div className="drop-overlay" data-testid="drop-overlay" role="status">
      <div className="drop-overlay-message">Drop to add to your documents</div>
    </div>
  );
}
