import type { ErrorCode } from '../../src-shared/contract/index.js';
import { useChat } from '../state/chatStoreContext.dom.js';
import { useFirstRunCardShown } from './FirstRunCard.dom.js';

/** Errors the first-run card explains while it is shown: the missing chat model, said once, there. */
const FIRST_RUN_CODES = new Set<ErrorCode>(['MODEL_MISSING', 'MODEL_NOT_READY']);
/** Download failures arrive as `model-progress` events too, and show where the download was started. */
const DOWNLOAD_CODES = new Set<ErrorCode>(['DOWNLOAD_FAILED', 'CHECKSUM_MISMATCH']);

/** Connection trouble, the last error and the agent's notices, above the conversation. */
export function Banners() {
  const connection = useChat((state) => state.connection);
  const firstRunShown = useFirstRunCardShown();
  const error = useChat((state) => {
    if (state.error === null) return null;
    if (state.errorCode !== null && DOWNLOAD_CODES.has(state.errorCode)) return null;
    const explainedByCard = (state.errorCode !== null && FIRST_RUN_CODES.has(state.errorCode)) || state.error === state.modelStatus?.message;
    return firstRunShown && explainedByCard ? null : state.error;
  });
  const notices = useChat((state) => state.notices);
  const dismissError = useChat((state) => state.dismissError);
  const dismissNotice = useChat((state) => state.dismissNotice);

  return (
    <div className="banners">
      {connection !== 'open' && (
        <div className="banner banner--warning" data-testid="connection-banner" role="status">
          {connection === 'connecting' ? 'Connecting to the assistant…' : 'Lost the connection to the assistant. Reconnecting…'}
        </div>
      )}
      {error !== null && (
        <div className="banner banner--error" data-testid="error-banner" role="alert">
          <span>{error}</span>
          <button type="button" className="banner-dismiss" aria-label="Dismiss error" onClick={dismissError}>
            ×
          </button>
        </div>
      )}
      {notices.map((notice) => (
        <div key={notice.id} className={`banner banner--${notice.level}`} data-testid="notice" role="status">
          <span>{notice.message}</span>
          <button type="button" className="banner-dismiss" aria-label="Dismiss notice" onClick={() => dismissNotice(notice.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
