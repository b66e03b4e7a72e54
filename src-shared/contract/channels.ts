/**
 * Every command and event name that crosses a process boundary (Electron IPC, WebSocket, CLI NDJSON).
 * Namespaced `domain:verb`; a unit test keeps them unique.
 */
export const AgentCommand = {
  chatSend: 'chat:send',
  chatCancel: 'chat:cancel',
  conversationsList: 'conversations:list',
  conversationsCreate: 'conversations:create',
  conversationsRename: 'conversations:rename',
  conversationsDelete: 'conversations:delete',
  conversationsMessages: 'conversations:messages',
  agentStatus: 'agent:status',
  statsGet: 'stats:get',
  voiceConfigure: 'voice:configure',
  voicePtt: 'voice:ptt',
  voiceStatus: 'voice:status',
  voiceInterrupt: 'voice:interrupt',
  dataStatus: 'data:status',
  dataResetDatabase: 'data:reset-database',
  modelsList: 'models:list',
  modelsPull: 'models:pull',
  modelsCancel: 'models:cancel',
  modelsDelete: 'models:delete',
  modelsUse: 'models:use',
  settingsGet: 'settings:get',
  settingsSet: 'settings:set',
  docsIngest: 'docs:ingest',
  docsUpload: 'docs:upload',
  docsCancel: 'docs:cancel',
  docsList: 'docs:list',
  docsStatus: 'docs:status',
  docsRemove: 'docs:remove',
  docsSearch: 'docs:search',
  docsChunk: 'docs:chunk',
} as const;
export type AgentCommandName = (typeof AgentCommand)[keyof typeof AgentCommand];

/** The single event channel the agent pushes on; the event's `type` discriminates. */
export const AGENT_EVENT_CHANNEL = 'agent:event' as const;
