import { formatBytes, formatSpeed, formatTimeLeft, percentDone, type DownloadView } from '../state/modelFormat.js';

/** One download: a bar, bytes so far of the total, speed and time left, and Cancel. Used everywhere a model downloads. */
export function ModelDownloadProgress({
  modelId,
  view,
  onCancel,
  cancelling,
}: {
  modelId: string;
  view: DownloadView;
  onCancel?: () => void;
  cancelling?: boolean;
}) {
  const percent = percentDone(view.receivedBytes, view.totalBytes);
  const verifying = view.state === 'verifying';
  const timeLeft = formatTimeLeft(view.receivedBytes, view.totalBytes, view.bytesPerSecond);
  const parts = verifying
    ? ['Checking the file…']
    : [
        view.totalBytes === null ? formatBytes(view.receivedBytes) : `${formatBytes(view.receivedBytes)} of ${formatBytes(view.totalBytes)}`,
        view.bytesPerSecond > 0 ? formatSpeed(view.bytesPerSecond) : null,
        timeLeft,
      ].filter((part): part is string => part !== null);
  return (
    <div
      className="download-progress"
      data-testid="download-progress"
      data-model-id={modelId}
      data-state={view.state}
      data-received-bytes={view.receivedBytes}
    >
      <div
        className="download-progress-track"
        role="progressbar"
        aria-label={`Downloading ${modelId}`}
        aria-valuemin={0}
        aria-valuemax={100}
        {...(percent !== null && { 'aria-valuenow': percent })}
      >
        <span
          className={`download-progress-bar${percent === null ? ' download-progress-bar--unknown' : ''}`}
          style={{ width: `${percent ?? 100}%` }}
        />
      </div>
      <div className="download-progress-line">
        <span data-testid="download-progress-text">
          {percent !== null && !verifying && <strong>{percent}% </strong>}
          {parts.join(' · ')}
        </span>
        {onCancel && !verifying && (
          <button type="button" className="button button--small" data-testid="download-cancel" disabled={cancelling} onClick={onCancel}>
            {cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
      </div>
    </div>
  );
}
