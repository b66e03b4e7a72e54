import { fileName } from '../state/documentJobs.js';
import { useDocuments } from '../state/documentsStore.dom.js';

/**
 * "Sources" under an answer: each passage from the user's documents it was given with, as a chip that opens the
 * passage. Shown only: the answer's text (what is spoken) never includes them.
 */
export function AnswerSources({ turnId }: { turnId: string }) {
  const citations = useDocuments((state) => state.citations[turnId]);
  const open = useDocuments((state) => state.openCitationOf);
  if (!citations || citations.length === 0) return null;
  return (
    <div className="answer-sources" data-testid="answer-sources">
      <span className="answer-sources-label">Sources</span>
      {citations.map((citation) => (
        <button
          key={citation.chunkId}
          type="button"
          className="citation-chip"
          data-testid="citation"
          data-chunk-id={citation.chunkId}
          title={`${citation.source}\n${citation.snippet}`}
          onClick={() => void open(citation)}
        >
          <span data-testid="citation-label">
            {fileName(citation.source)}#{citation.chunk}
          </span>
          <span className="citation-score" aria-label={`relevance ${citation.score.toFixed(2)}`}>
            {citation.score.toFixed(2)}
          </span>
        </button>
      ))}
    </div>
  );
}
