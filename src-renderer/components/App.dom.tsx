import { Banners } from './Banners.dom.js';
import { ChatView } from './ChatView.dom.js';
import { CitationDialog } from './CitationDialog.dom.js';
import { DataRecoveryBanner } from './DataRecoveryBanner.dom.js';
import { DocumentDropOverlay } from './DocumentDropOverlay.dom.js';
import { DocumentsButton, DocumentsPanel } from './DocumentsPanel.dom.js';
import { FirstRunCard } from './FirstRunCard.dom.js';
import { Composer } from './Composer.dom.js';
import { ConversationList } from './ConversationList.dom.js';
import { ModelStatusBadge } from './ModelStatusBadge.dom.js';
import { ModelsButton, ModelsPanel } from './ModelsPanel.dom.js';
import { PerformanceButton, PerformancePanel } from './PerformancePanel.dom.js';
import { SafetyButton, SafetyPanel } from './SafetyPanel.dom.js';
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
          <div className="chat-header-tools">
            <DocumentsButton />
            <ModelsButton />
            <PerformanceButton />
            <SafetyButton />
            <ModelStatusBadge />
          </div>
        </header>
        <DocumentsPanel />
        <ModelsPanel />
        <PerformancePanel />
        <SafetyPanel />
        <DataRecoveryBanner />
        <Banners />
        <FirstRunCard />
        <ChatView />
        <VoicePanel />
        <Composer />
      </main>
      <DocumentDropOverlay />
      <CitationDialog />
    </div>
  );
}
