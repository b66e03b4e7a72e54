/**
 * The preload: exposes a small, typed bridge (never ipcRenderer itself) through contextBridge, matching
 * `AssistantBridge` in src-renderer/transport/electronAgentClient.dom.ts. Bundled to CommonJS by
 * scripts/build-preload.js, since sandboxed preloads cannot be ES modules.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import { AGENT_EVENT_CHANNEL } from '../../src-shared/contract/channels.js';
import {
  ELECTRON_CALL_CHANNEL,
  ELECTRON_CANCEL_CHANNEL,
  ELECTRON_MIC_FRAME_CHANNEL,
  ELECTRON_PICK_MODEL_FILE_CHANNEL,
  type ElectronCallReply,
} from './electronChannels.js';

contextBridge.exposeInMainWorld('assistantBridge', {
  async call(command: string, args: unknown, callId: number): Promise<unknown> {
    const reply = (await ipcRenderer.invoke(ELECTRON_CALL_CHANNEL, { kind: 'call', id: callId, command, args })) as ElectronCallReply;
    // A plain {code, message} object crosses the bridge; the renderer validates it with the shared schema.
    if (reply.kind === 'failure') throw reply.error;
    return reply.value;
  },
  cancel(callId: number): void {
    ipcRenderer.send(ELECTRON_CANCEL_CHANNEL, { kind: 'cancel', id: callId });
  },
  onEvent(listener: (event: unknown) => void): () => void {
    const handler = (_event: IpcRendererEvent, payload: unknown) => listener(payload);
    ipcRenderer.on(AGENT_EVENT_CHANNEL, handler);
    return () => ipcRenderer.off(AGENT_EVENT_CHANNEL, handler);
  },
  sendMicFrame(buffer: ArrayBuffer): void {
    ipcRenderer.send(ELECTRON_MIC_FRAME_CHANNEL, buffer);
  },
  /** The system's file picker; the chosen path then goes through models:use, which checks the file. */
  async pickModelFile(options: { role: 'llm' | 'stt-whisper' }): Promise<string | null> {
    const picked: unknown = await ipcRenderer.invoke(ELECTRON_PICK_MODEL_FILE_CHANNEL, { role: options.role === 'stt-whisper' ? 'stt-whisper' : 'llm' });
    return typeof picked === 'string' ? picked : null;
  },
  /** A dropped file's path on disk, so the agent reads it in place (docs:ingest); '' from Electron means it has none. */
  pathForFile(file: File): string | null {
    return webUtils.getPathForFile(file) || null;
  },
});
