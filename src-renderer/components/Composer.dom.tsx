import { useState, type FormEvent, type KeyboardEvent } from 'react';
import { streamingTurnId } from '../state/chatStore.dom.js';
import { useChat } from '../state/chatStoreContext.dom.js';
import { useFirstRunCardShown } from './FirstRunCard.dom.js';

export function Composer() {
  const [text, setText] = useState('');
  const sending = useChat((state) => state.sending);
  const answering = useChat((state) => streamingTurnId(state) !== null);
  const send = useChat((state) => state.send);
  const stop = useChat((state) => state.stop);
  const councilMode = useChat((state) => state.councilMode);
  const setCouncilMode = useChat((state) => state.setCouncilMode);
  // Until a chat model is there, the first-run card is what to do; a question would only repeat its message.
  const firstRunShown = useFirstRunCardShown();
  const modelMissing = useChat((state) => state.modelStatus?.state === 'missing');
  const noModel = firstRunShown && modelMissing;
  const busy = sending || answering || noModel;

  // Empty questions are sent on purpose: the agent says what is wrong, in the same words every client shows.
  const submit = async () => {
    if (busy) return;
    if (await send(text)) setText('');
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void submit();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void submit();
    }
  };

  return (
    <form className="composer" onSubmit={onSubmit}>
      <textarea
        className="composer-input"
        data-testid="question-input"
        aria-label="Your question"
        placeholder={noModel ? 'Download or choose a chat model above to start.' : 'Ask a question… (Enter sends, Shift+Enter for a new line)'}
        rows={2}
        value={text}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={onKeyDown}
      />
      <div className="composer-actions">
        <label className={`council-toggle${councilMode ? ' council-toggle--on' : ''}`} title="Ask a council of models: several answers, ranked by each other, and a chairman writes the answer (slower)">
          <input type="checkbox" data-testid="council-toggle" checked={councilMode} onChange={(event) => setCouncilMode(event.target.checked)} />
          Council
        </label>
        {answering && (
          <button type="button" className="button button--stop" data-testid="stop-button" onClick={() => void stop()}>
            Stop
          </button>
        )}
        <button type="submit" className="button button--primary" data-testid="send-button" disabled={busy}>
          Send
        </button>
      </div>
    </form>
  );
}
