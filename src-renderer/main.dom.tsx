import './zodConfig.js';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './components/App.dom.js';
import { createChatStore } from './state/chatStore.dom.js';
import { ChatStoreContext } from './state/chatStoreContext.dom.js';
import { createAgentClient } from './transport/createAgentClient.dom.js';
import './styles.css';

const store = createChatStore(createAgentClient());
store.getState().start();

const rootElement = document.getElementById('root');
if (!rootElement) throw new Error('index.html has no #root element.');
createRoot(rootElement).render(
  <StrictMode>
    <ChatStoreContext.Provider value={store}>
      <App />
    </ChatStoreContext.Provider>
  </StrictMode>,
);
