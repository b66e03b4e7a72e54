import { ElectronAgentClient } from './electronAgentClient.dom.js';
import type { HostAgentClient } from './hostConnection.js';
import { WebSocketAgentClient } from './webSocketAgentClient.dom.js';

/** Electron's preload bridge when there is one, else the headless host's WebSocket on the page's own origin. */
export function createAgentClient(): HostAgentClient {
  if (window.assistantBridge) return new ElectronAgentClient(window.assistantBridge);
  const token = new URLSearchParams(window.location.search).get('token') ?? '';
  const url = new URL('ws', window.location.href);
  url.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = new URLSearchParams({ token }).toString();
  url.hash = '';
  return new WebSocketAgentClient(url.toString());
}
