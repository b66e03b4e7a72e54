import type { ModelStatus } from '../state/chatStore.dom.js';
import { useChat } from '../state/chatStoreContext.dom.js';
import { useFirstRunCardShown } from './FirstRunCard.dom.js';

const STATE_LABELS: Record<ModelStatus['state'], string> = {
  loading: 'Loading model…',
  warm: 'Ready',
  missing: 'Model missing',
  error: 'Model error',
};

export function ModelStatusBadge() {
  const status = useChat((state) => state.modelStatus);
  // The first-run card says what is missing and what to do; the badge keeps to the state.
  const explainedByCard = useFirstRunCardShown();
  if (!status) {
    return (
      <div className="model-status" data-testid="model-status" data-state="unknown">
        <span className="model-status-pill">
          <span className="model-status-dot" aria-hidden="true" />
          Connecting…
        </span>
      </div>
    );
  }
  const which = [status.provider, status.model].filter(Boolean).join(' · ');
  return (
    <div className={`model-status model-status--${status.state}`} data-testid="model-status" data-state={status.state}>
      <span className="model-status-pill" title={status.message}>
        <span className="model-status-dot" aria-hidden="true" />
        {STATE_LABELS[status.state]}
        {which && <span className="model-status-which">{which}</span>}
      </span>
      {status.message && status.state !== 'warm' && !explainedByCard && <p className="model-status-message">{status.message}</p>}
    </div>
  );
}
