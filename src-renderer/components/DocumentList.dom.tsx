import type { DocumentInfo } from '../../src-shared/contract/index.js';
import { fileName } from '../state/documentJobs.js';
import { useDocuments } from '../state/documentsStore.dom.js';
import { formatBytes } from '../state/modelFormat.js';
import { ItemTableHead } from './Panel.dom.js';

function formatDate(ms: number): string {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

const DOCUMENT_COLUMNS = ['Document', 'Chunks', 'Size', 'Added'];

/** The ingested documents: name (full path on hover), chunks, size, when it was added, and Remove. */
export function DocumentList() {
  const documents = useDocuments((state) => state.documents);
  if (documents === null) return null;
  if (documents.length === 0) {
    return (
      <p className="documents-empty" data-testid="documents-empty">
        No documents yet. Drop files anywhere on the window, or use Add documents…
      </p>
    );
  }
  return (
    <table className="item-table documents-table" data-testid="documents-table">
      <ItemTableHead columns={DOCUMENT_COLUMNS} />
      <tbody>
        {documents.map((document) => (
          <DocumentRow key={document.id} document={document} />
        ))}
      </tbody>
    </table>
  );
}

function DocumentRow({ document }: { document: DocumentInfo }) {
  const removing = useDocuments((state) => state.removing[document.id] === true);
  const remove = useDocuments((state) => state.remove);
  const name = fileName(document.source);
  return (
    <tr className="item-row" data-testid="document-row" data-document-id={document.id} data-source={document.source}>
      <td className="documents-name" title={document.source} data-field="name">
        {name}
        <span className="models-id">{document.format}</span>
      </td>
      <td data-field="chunks">{document.chunks}</td>
      <td data-field="size">{formatBytes(document.bytes)}</td>
      <td data-field="added">{formatDate(document.ingestedAt)}</td>
      <td className="models-actions">
        <button
          type="button"
          className="button button--small"
          data-testid="document-remove"
          aria-label={`Remove ${name} from your documents`}
          disabled={removing}
          onClick={() => void remove(document.id)}
        >
          {removing ? 'Removing…' : 'Remove'}
        </button>
      </td>
    </tr>
  );
}

const NONE: readonly string[] = [];

/** Folders kept in sync with the documents, each with Stop watching (which also removes its documents). */
export function WatchedFolders() {
  const watched = useDocuments((state) => state.status?.watched ?? NONE);
  const removing = useDocuments((state) => state.removing);
  const remove = useDocuments((state) => state.remove);
  if (watched.length === 0) return null;
  return (
    <div className="documents-watched" data-testid="watched-folders">
      <h3 className="models-subtitle">Watched folders</h3>
      <ul className="item-list">
        {watched.map((folder) => (
          <li key={folder} data-testid="watched-folder" data-folder={folder}>
            <code title={folder}>{folder}</code>
            <button
              type="button"
              className="button button--small"
              data-testid="watched-folder-stop"
              title="Stop watching this folder and remove its documents"
              disabled={removing[folder] === true}
              onClick={() => void remove(folder)}
            >
              Stop watching
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
