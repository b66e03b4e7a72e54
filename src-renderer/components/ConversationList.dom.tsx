import { useState, type KeyboardEvent } from 'react';
import type { Conversation } from '../../src-shared/contract/index.js';
import { useChat } from '../state/chatStoreContext.dom.js';

export function ConversationList() {
  const conversations = useChat((state) => state.conversations);
  const newConversation = useChat((state) => state.newConversation);
  return (
    <aside className="sidebar">
      <button type="button" className="button button--primary sidebar-new" data-testid="new-conversation" onClick={() => void newConversation()}>
        + New conversation
      </button>
      <ul className="conversation-list" aria-label="Conversations">
        {conversations.map((conversation) => (
          <ConversationItem key={conversation.id} conversation={conversation} />
        ))}
      </ul>
      {conversations.length === 0 && <p className="sidebar-empty">No conversations yet.</p>}
    </aside>
  );
}

type ItemMode = 'view' | 'rename' | 'confirm-delete';

function ConversationItem({ conversation }: { conversation: Conversation }) {
  const active = useChat((state) => state.activeConversationId === conversation.id);
  const select = useChat((state) => state.selectConversation);
  const rename = useChat((state) => state.renameConversation);
  const remove = useChat((state) => state.deleteConversation);
  const [mode, setMode] = useState<ItemMode>('view');
  const [draftTitle, setDraftTitle] = useState(conversation.title);

  const finishRename = () => {
    setMode('view');
    const title = draftTitle.trim();
    if (title !== '' && title !== conversation.title) void rename(conversation.id, title);
  };

  const onRenameKey = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === 'Enter') finishRename();
    if (event.key === 'Escape') setMode('view');
  };

  return (
    <li className={`conversation-item${active ? ' conversation-item--active' : ''}`} data-testid="conversation-item" data-active={active}>
      {mode === 'rename' ? (
        <input
          className="conversation-rename"
          aria-label="Conversation title"
          value={draftTitle}
          autoFocus
          maxLength={200}
          onChange={(event) => setDraftTitle(event.target.value)}
          onKeyDown={onRenameKey}
          onBlur={finishRename}
        />
      ) : (
        <button type="button" className="conversation-select" onClick={() => void select(conversation.id)} title={conversation.title}>
          {conversation.title || 'Untitled'}
        </button>
      )}
      {mode === 'confirm-delete' ? (
        <span className="conversation-actions conversation-actions--visible">
          <button type="button" className="button button--danger button--small" onClick={() => void remove(conversation.id)}>
            Delete
          </button>
          <button type="button" className="button button--small" onClick={() => setMode('view')}>
            Keep
          </button>
        </span>
      ) : (
        mode === 'view' && (
          <span className="conversation-actions">
            <button
              type="button"
              className="icon-button"
              aria-label="Rename conversation"
              title="Rename"
              onClick={() => {
                setDraftTitle(conversation.title);
                setMode('rename');
              }}
            >
              ✎
            </button>
            <button type="button" className="icon-button" aria-label="Delete conversation" title="Delete" onClick={() => setMode('confirm-delete')}>
              ✕
            </button>
          </span>
        )
      )}
    </li>
  );
}
