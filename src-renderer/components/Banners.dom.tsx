import { useChat } from '../state/chatStoreContext.dom.js';

/** Connection trouble, the last error and the agent's notices, above the conversation. */
export function Banners() {
  const connection = useChat((state) => state.connection);
  const error = useChat((state) => state.error);
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
