import type { ServerFrame } from '../../src-shared/contract/index.js';

/** IPC channels between the Electron main process and the preload (the agent's own names are in src-shared). */
export const ELECTRON_CALL_CHANNEL = 'agent:call';
export const ELECTRON_CANCEL_CHANNEL = 'agent:cancel-call';
/** Renderer → main, fire and forget: one mic frame (16 kHz mono Int16 PCM) as an ArrayBuffer. */
export const ELECTRON_MIC_FRAME_CHANNEL = 'agent:mic-frame';
/** Renderer → main, invoke: the system's open-file dialog for "I have a model file"; answers a path or null. */
export const ELECTRON_PICK_MODEL_FILE_CHANNEL = 'models:pick-file';

/**
 * The preload sends the WebSocket transport's client frames (`{kind: 'call', id, command, args}`, `{kind: 'cancel', id}`)
 * and gets the same reply frames, from the same command router. ipcRenderer.invoke loses error objects, so failures
 * come back as values.
 */
export type ElectronCallReply = Extract<ServerFrame, { kind: 'result' | 'failure' }>;
