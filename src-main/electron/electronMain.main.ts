/**
 * The Electron main process: a thin shell. It creates the same agent as every other host and exposes the shared
 * contract to the renderer over IPC. All logic lives in the agent; nothing here is needed by the tests.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, globalShortcut, ipcMain, session } from 'electron';
import {
  AGENT_EVENT_CHANNEL,
  assertCommandName,
  parseMicFrame,
  toErrorShape,
  type CommandName,
} from '../../src-shared/contract/index.js';
import { createRecoverableAgent, type RecoverableAgent } from '../app/recoverableAgent.node.js';
import { ELECTRON_CALL_CHANNEL, ELECTRON_CANCEL_CHANNEL, ELECTRON_MIC_FRAME_CHANNEL, type ElectronCallReply } from './electronChannels.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_PTT_HOTKEY = 'CommandOrControl+Shift+Space';

/**
 * A system-wide push-to-talk hotkey. Global shortcuts only report presses, not releases, so it toggles:
 * first press starts listening, the second sends what was said.
 */
function registerPushToTalkHotkey(agent: RecoverableAgent): void {
  const accelerator = process.env.ASSISTANT_PTT_HOTKEY || DEFAULT_PTT_HOTKEY;
  let pressed = false;
  const toggle = () => {
    pressed = !pressed;
    agent.call('voice:ptt', { pressed }).catch((error: unknown) => console.error(`Push-to-talk hotkey: ${toErrorShape(error).message}`));
  };
  let registered = false;
  try {
    registered = globalShortcut.register(accelerator, toggle);
  } catch (error) {
    console.error(`ASSISTANT_PTT_HOTKEY "${accelerator}" is not a valid accelerator (${(error as Error).message}); the in-window Space key still works.`);
    return;
  }
  if (!registered) console.error(`The push-to-talk hotkey ${accelerator} is taken by another app; set ASSISTANT_PTT_HOTKEY to another one.`);
}

app.whenReady().then(async () => {
  // better-sqlite3 built for Electron's ABI lives apart from the Node build the tests use (see scripts/start.js).
  // A damaged database or an unusable data folder does not stop the app: the agent starts in recovery mode and the
  // window shows the problem (and offers to move a damaged database aside), as the headless host does.
  const agent = createRecoverableAgent({
    config: process.env.ASSISTANT_SQLITE_ELECTRON_BINDING ? { sqliteNativeBinding: process.env.ASSISTANT_SQLITE_ELECTRON_BINDING } : {},
  });
  const pending = new Map<number, AbortController>();

  ipcMain.handle(ELECTRON_CALL_CHANNEL, async (_event, callId: number, command: string, args: unknown): Promise<ElectronCallReply> => {
    const controller = new AbortController();
    pending.set(callId, controller);
    try {
      // The agent validates `args` with the shared zod schemas; the command name is checked here first.
      return { ok: true, value: await agent.call(assertCommandName(command) as CommandName, args as never, controller.signal) };
    } catch (error) {
      return { ok: false, error: toErrorShape(error) };
    } finally {
      pending.delete(callId);
    }
  });
  ipcMain.on(ELECTRON_CANCEL_CHANNEL, (_event, callId: number) => pending.get(callId)?.abort());
  ipcMain.on(ELECTRON_MIC_FRAME_CHANNEL, (_event, frame: unknown) => {
    // The renderer is another process: only well-formed PCM reaches the voice pipeline; anything else is dropped.
    if (!(frame instanceof ArrayBuffer) && !(frame instanceof Uint8Array)) return;
    const pcm = parseMicFrame(frame);
    if (pcm) agent.sendMicFrame(pcm);
  });
  registerPushToTalkHotkey(agent);
  app.on('will-quit', () => globalShortcut.unregisterAll());

  // Microphone only, for push-to-talk; every other permission is refused.
  session.defaultSession.setPermissionRequestHandler((_webContents, permission, callback) => callback(permission === 'media'));

  const window = new BrowserWindow({
    width: 1100,
    height: 760,
    title: 'Local Voice Assistant',
    webPreferences: {
      preload: path.join(here, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      // Spoken answers in hands-free mode must be audible before the user has clicked anything.
      autoplayPolicy: 'no-user-gesture-required',
    },
  });
  const unsubscribe = agent.listen((event) => {
    if (!window.isDestroyed()) window.webContents.send(AGENT_EVENT_CHANNEL, event);
  });
  await window.loadFile(path.resolve(here, '../../renderer/index.html'));

  app.on('window-all-closed', () => {
    unsubscribe();
    void agent.close().finally(() => app.quit());
  });
});
