import './zodConfig.js';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './components/App.dom.js';
import { readFileBase64 } from './documents/fileBase64.dom.js';
import { createChatStore } from './state/chatStore.dom.js';
import { ChatStoreContext } from './state/chatStoreContext.dom.js';
import { createDataRecoveryStore, DataRecoveryStoreContext } from './state/dataRecoveryStore.dom.js';
import { createDocumentsStore, DocumentsStoreContext } from './state/documentsStore.dom.js';
import { createModelsStore, ModelsStoreContext } from './state/modelsStore.dom.js';
import { createSafetyStore, SafetyStoreContext } from './state/safetyStore.dom.js';
import { createStatsStore, StatsStoreContext } from './state/statsStore.dom.js';
import { createVoiceStore } from './state/voiceStore.dom.js';
import { VoiceStoreContext } from './state/voiceStoreContext.dom.js';
import { createAgentClient } from './transport/createAgentClient.dom.js';
import { startMicCapture } from './voice/micCapture.dom.js';
import { SpeechPlayer, type PlaybackDiagnostics } from './voice/speechPlayer.dom.js';
import './styles.css';

declare global {
  interface Window {
    /** Test and diagnostic hook: what the speech player sent to the speakers. The app itself never reads it. */
    __assistantAudio?: PlaybackDiagnostics;
  }
}

const client = createAgentClient();
const chatStore = createChatStore(client);
const player = new SpeechPlayer();
window.__assistantAudio = player.diagnostics;
const voiceStore = createVoiceStore({
  client,
  chat: chatStore,
  player,
  startMic: startMicCapture,
  ...('speechSynthesis' in window && { speechSynthesis: window.speechSynthesis }),
});
const dataRecoveryStore = createDataRecoveryStore(client);
const statsStore = createStatsStore(client);
const modelsStore = createModelsStore(client);
const safetyStore = createSafetyStore(client);
const bridge = window.assistantBridge;
const documentsStore = createDocumentsStore(client, {
  readBase64: readFileBase64,
  ...(bridge?.pathForFile && { pathForFile: (file: File) => bridge.pathForFile?.(file) ?? null }),
});
chatStore.getState().start();
dataRecoveryStore.getState().start();
voiceStore.getState().start();
statsStore.getState().start();
modelsStore.getState().start();
documentsStore.getState().start();

const rootElement = document.getElementById('root');
if (!rootElement) throw new Error('index.html has no #root element.');
createRoot(rootElement).render(
  <StrictMode>
    <ChatStoreContext.Provider value={chatStore}>
      <VoiceStoreContext.Provider value={voiceStore}>
        <DataRecoveryStoreContext.Provider value={dataRecoveryStore}>
          <StatsStoreContext.Provider value={statsStore}>
            <ModelsStoreContext.Provider value={modelsStore}>
              <DocumentsStoreContext.Provider value={documentsStore}>
                <SafetyStoreContext.Provider value={safetyStore}>
                  <App />
                </SafetyStoreContext.Provider>
              </DocumentsStoreContext.Provider>
            </ModelsStoreContext.Provider>
          </StatsStoreContext.Provider>
        </DataRecoveryStoreContext.Provider>
      </VoiceStoreContext.Provider>
    </ChatStoreContext.Provider>
  </StrictMode>,
);
