import { Banners } from './Banners.dom.js';
import { ChatView } from './ChatView.dom.js';
import { DataRecoveryBanner } from './DataRecoveryBanner.dom.js';
import { Composer } from './Composer.dom.js';
import { ConversationList } from './ConversationList.dom.js';
import { ModelStatusBadge } from './ModelStatusBadge.dom.js';
import { VoicePanel } from './VoicePanel.dom.js';
import { useChat } from '../state/chatStoreContext.dom.js';

export function App() {
  const title = useChat(
    (state) => state.conversations.find((conversation) => conversation.id === state.activeConversationId)?.title ?? 'New conversation',
  );
  return (
    <div className="app">
      <ConversationList />
      <main className="chat">
        <header className="chat-header">
          <h1 className="chat-title">{title}</h1>
          <ModelStatusBadge />
        </header>
        <DataRecoveryBanner />
        <Banners />
        <ChatView />
        <VoicePanel />
        <Composer />
      </main>
    </div>
  );
}
