import { fileName, jobCancellable, jobPercent, summaryText, type DocumentJob } from '../state/documentJobs.js';
import { useDocuments } from '../state/documentsStore.dom.js';

function runningText(job: DocumentJob): string {
  if (job.state === 'sending') return 'Sending…';
  if (job.state === 'queued') return 'Waiting for the documents added before it…';
  const files = job.filesTotal === 0 ? 'Looking for documents…' : `${job.filesDone} of ${job.filesTotal} ${job.filesTotal === 1 ? 'file' : 'files'}`;
  if (!job.current) return files;
  const chunks = job.currentChunks ? ` (${job.currentChunks.done} of ${job.currentChunks.total} chunks)` : '';
  return `${files} · ${fileName(job.current)}${chunks}`;
}

const ENDED_TITLES: Partial<Record<DocumentJob['state'], string>> = {
  cancelled: 'Cancelled',
  failed: 'Stopped',
};

/** One ingestion job: its bar and Cancel while it runs, then what it added and every file it could not add, with why. */
export function DocumentJobProgress({ job }: { job: DocumentJob }) {
  const cancelling = useDocuments((state) => job.jobId !== undefined && state.cancelling[job.jobId] === true);
  const cancel = useDocuments((state) => state.cancel);
  const dismiss = useDocuments((state) => state.dismissJob);
  const going = job.state === 'sending' || job.state === 'queued' || job.state === 'running';
  const percent = jobPercent(job);
  const endedTitle = ENDED_TITLES[job.state];

  return (
    <div className={`document-job document-job--${job.state}`} data-testid="document-job" data-state={job.state} {...(job.jobId && { 'data-job-id': job.jobId })}>
      <div className="document-job-head">
        <strong className="document-job-label">{job.label ?? 'Documents'}</strong>
        {endedTitle && <span className="document-job-ended">{endedTitle}</span>}
        {going && jobCancellable(job) && (
          <button type="button" className="button button--small" data-testid="document-job-cancel" disabled={cancelling} onClick={() => void cancel(job.jobId!)}>
            {cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
        {!going && (
          <button type="button" className="banner-dismiss" aria-label="Dismiss" onClick={() => dismiss(job.key)}>
            ×
          </button>
        )}
      </div>
      {going && (
        <>
          <div
            className="download-progress-track"
            role="progressbar"
            aria-label={`Adding ${job.label ?? 'documents'}`}
            aria-valuemin={0}
            aria-valuemax={100}
            {...(percent !== null && { 'aria-valuenow': percent })}
          >
            <span className={`download-progress-bar${percent === null ? ' download-progress-bar--unknown' : ''}`} style={{ width: `${percent ?? 100}%` }} />
          </div>
          <p className="document-job-line" data-testid="document-job-progress">
            {runningText(job)}
          </p>
        </>
      )}
      {job.summary && !going && (
        <p className="document-job-line" data-testid="document-job-summary">
          {summaryText(job.summary)}
        </p>
      )}
      {job.message !== undefined && !going && (
        <p className={`document-job-line${job.state === 'failed' ? ' documents-error' : ''}`} data-testid="document-job-message">
          {job.message}
        </p>
      )}
      {job.failed.length > 0 && (
        <ul className="document-failures" data-testid="document-failures">
          {job.failed.map((failure) => (
            <li key={failure.source} data-testid="document-failure" data-source={failure.source} title={failure.source}>
              <strong>{fileName(failure.source)}</strong>: {failure.reason}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
