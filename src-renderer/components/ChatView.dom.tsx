import { useEffect, useRef, type ReactNode } from 'react';
import type { UiMessage, WithheldMark } from '../state/chatStore.dom.js';
import { useChat } from '../state/chatStoreContext.dom.js';
import { councilOutcomeLabel, routeLabel } from '../state/councilView.js';
import { AnswerSources } from './AnswerSources.dom.js';
import { CouncilView } from './CouncilView.dom.js';
import { useFirstRunCardShown } from './FirstRunCard.dom.js';

/** How close to the bottom (px) still counts as "following" the answer, so new text scrolls into view. */
const FOLLOW_THRESHOLD_PX = 80;

export function ChatView() {
  const messages = useChat((state) => state.messages);
  const loading = useChat((state) => state.loadingMessages);
  const firstRunShown = useFirstRunCardShown();
  const listRef = useRef<HTMLDivElement>(null);
  const followingRef = useRef(true);

  useEffect(() => {
    const list = listRef.current;
    if (list && followingRef.current) list.scrollTop = list.scrollHeight;
  }, [messages]);

  const onScroll = () => {
    const list = listRef.current;
    if (list) followingRef.current = list.scrollHeight - list.scrollTop - list.clientHeight < FOLLOW_THRESHOLD_PX;
  };

  return (
    <div className="messages" ref={listRef} onScroll={onScroll} aria-live="polite">
      {messages.length === 0 && !loading && !firstRunShown && <p className="messages-empty">Ask a question to start.</p>}
      {messages.map((message) =>
        message.role === 'user' ? (
          <article key={message.key} className="message message--user" data-testid="user-message">
            <div className="message-text">{message.text}</div>
          </article>
        ) : (
          <AssistantMessage key={message.key} message={message} />
        ),
      )}
    </div>
  );
}

const STATUS_NOTES: Partial<Record<UiMessage['status'], string>> = {
  interrupted: 'Stopped',
  crashed: 'Cut off: the assistant stopped while answering',
};

function AssistantMessage({ message }: { message: UiMessage }) {
  const streaming = message.status === 'streaming';
  const note = STATUS_NOTES[message.status];
  if (message.refusal) {
    // A guard refused the question: its reason, in place of the answer (not an answer, not an error).
    return (
      <article className="message message--assistant message--blocked" data-testid="assistant-message" data-status={message.status} data-guard={message.refusal.guard}>
        <p className="message-refusal" data-testid="refusal" role="note">
          Not answered: {message.refusal.reason}
        </p>
      </article>
    );
  }
  const withheld = message.withheld ?? [];
  return (
    <article className={`message message--assistant message--${message.status}`} data-testid="assistant-message" data-status={message.status}>
      {message.turnId !== undefined && <CouncilView turnId={message.turnId} streaming={streaming} />}
      {streaming && message.text === '' && withheld.length === 0 ? (
        <div className="thinking" data-testid="thinking-indicator" role="status">
          <span className="thinking-dot" />
          <span className="thinking-dot" />
          <span className="thinking-dot" />
          <span className="thinking-label">Thinking…</span>
        </div>
      ) : (
        <div className="message-text" data-testid="assistant-text">
          {withheld.length === 0 ? message.text : <TextWithWithheld text={message.text} withheld={withheld} />}
          {streaming && <span className="streaming-cursor" data-testid="streaming-cursor" aria-hidden="true" />}
        </div>
      )}
      {message.turnId !== undefined && <AnswerSources turnId={message.turnId} />}
      {(note || message.timings || message.route || message.council) && (
        <footer className="message-meta">
          {note && <span className="message-note">{note}</span>}
          {message.cached && (
            <span className="tag" data-testid="cached-label">
              cached
            </span>
          )}
          {message.route && (
            <span
              className="tag tag--route"
              data-testid="route-label"
              data-tier={message.route.tier}
              title={message.route.choice === 'auto' ? 'Model tier chosen by the router for this question' : 'Model tier of this session'}
            >
              {routeLabel(message.route)}
            </span>
          )}
          {message.council && (
            <span
              className={`tag tag--council${message.council.source === 'chairman' ? '' : ' tag--council-fallback'}`}
              data-testid="council-label"
              data-source={message.council.source}
              title={`Council: ${message.council.members.join(', ')}`}
            >
              {councilOutcomeLabel(message.council)}
            </span>
          )}
          {message.timings && <TurnTimingLine timings={message.timings} />}
        </footer>
      )}
    </article>
  );
}

/** The answer with a short marker where each withheld sentence was; its reason shows on hover. */
function TextWithWithheld({ text, withheld }: { text: string; withheld: WithheldMark[] }) {
  const parts: ReactNode[] = [];
  let from = 0;
  withheld.forEach((mark, index) => {
    // The final text may be shorter than what streamed (it replaces it at the end): a mark never lands past it.
    const at = Math.min(Math.max(mark.at, from), text.length);
    if (at > from) parts.push(text.slice(from, at));
    parts.push(
      <span key={`withheld-${index}`} className="withheld-marker" data-testid="withheld-marker" data-guard={mark.guard} title={mark.reason}>
        [sentence withheld]
      </span>,
    );
    from = at;
  });
  if (from < text.length) parts.push(text.slice(from));
  return <>{parts}</>;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function TurnTimingLine({ timings }: { timings: NonNullable<UiMessage['timings']> }) {
  const parts = [
    timings.ttftMs !== null ? `first token ${formatMs(timings.ttftMs)}` : null,
    timings.tokensPerSecond !== null ? `${Math.round(timings.tokensPerSecond)} tok/s` : null,
    `${formatMs(timings.totalMs)} total`,
  ].filter((part): part is string => part !== null);
  return (
    <span className="turn-timing" data-testid="turn-timing">
      {parts.join(' · ')}
    </span>
  );
}
