import { useDataRecovery } from '../state/dataRecoveryStore.dom.js';

/**
 * Shown when the agent could not open its data: the problem with its path and, for a damaged database, the button that
 * moves it aside (kept, never deleted) and starts fresh. After that, a note saying where the old file went.
 */
export function DataRecoveryBanner() {
  const status = useDataRecovery((state) => state.status);
  const resetting = useDataRecovery((state) => state.resetting);
  const error = useDataRecovery((state) => state.error);
  const movedNoticeDismissed = useDataRecovery((state) => state.movedNoticeDismissed);
  const resetDatabase = useDataRecovery((state) => state.resetDatabase);
  const dismissMovedNotice = useDataRecovery((state) => state.dismissMovedNotice);
  if (!status) return null;

  if (status.state === 'ok') {
    if (!status.movedAsideTo || movedNoticeDismissed) return null;
    return (
      <div className="banner banner--info" data-testid="data-moved-notice" role="status">
        <span>
          Started with a fresh database. The damaged one was kept at <code>{status.movedAsideTo}</code>.
        </span>
        <button type="button" className="banner-dismiss" aria-label="Dismiss notice" onClick={dismissMovedNotice}>
          ×
        </button>
      </div>
    );
  }

  return (
    <div className="banner banner--error data-recovery" data-testid="data-recovery-banner" data-state={status.state} role="alert">
      <div>
        <strong>
          {status.state === 'corrupt'
            ? 'The assistant cannot open its database.'
            : status.state === 'locked'
              ? 'The assistant cannot unlock its encrypted database.'
              : 'The assistant cannot use its data folder.'}
        </strong>
        <p data-testid="data-recovery-message">{status.problem?.message ?? `Cannot open ${status.databasePath}.`}</p>
        {status.state === 'corrupt' ? (
          <p>
            Moving it aside keeps the file (renamed to <code>{status.databasePath}.corrupt-…</code>) and starts with an empty history.
          </p>
        ) : status.state === 'locked' ? (
          <p>The file was left untouched. Start the assistant with the key it was encrypted with.</p>
        ) : (
          <p>Start the assistant with another data folder (--data-dir or ASSISTANT_DATA_DIR).</p>
        )}
        {error !== null && <p data-testid="data-recovery-error">{error}</p>}
      </div>
      {status.state === 'corrupt' && (
        <button
          type="button"
          className="button button--danger"
          data-testid="data-reset-button"
          disabled={resetting}
          onClick={() => void resetDatabase()}
        >
          {resetting ? 'Moving it aside…' : 'Move it aside and start fresh'}
        </button>
      )}
    </div>
  );
}
