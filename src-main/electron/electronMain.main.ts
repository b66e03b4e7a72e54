/**
 * The Electron main process: a thin shell. It creates the same agent as every other host and exposes the shared
 * contract to the renderer over IPC. All logic lives in the agent; nothing here is needed by the tests.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, globalShortcut, ipcMain, session, type WebContents } from 'electron';
import { AGENT_EVENT_CHANNEL, parseMicFrame, toErrorShape } from '../../src-shared/contract/index.js';
import { resolveEnvSettings } from '../agent/agentSettings.node.js';
import { createCommandRouter, UNKNOWN_CALL_ID, type CommandRouter, type RouterClient } from '../app/commandRouter.js';
import { createRecoverableAgent, type RecoverableAgent } from '../app/recoverableAgent.node.js';
import {
  ELECTRON_CALL_CHANNEL,
  ELECTRON_CANCEL_CHANNEL,
  ELECTRON_MIC_FRAME_CHANNEL,
  ELECTRON_PICK_MODEL_FILE_CHANNEL,
  type ElectronCallReply,
} from './electronChannels.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * A system-wide push-to-talk hotkey. Global shortcuts only report presses, not releases, so it toggles:
 * first press starts listening, the second sends what was said.
 */
function registerPushToTalkHotkey(agent: RecoverableAgent): void {
  const accelerator = resolveEnvSettings(process.env).pttHotkey;
  let pressed = false;
  const toggle = () => {
    pressed = !pressed;
    agent.call('voice:ptt', { pressed }).catch((error: unknown) => agent.logger.warn({ err: toErrorShape(error) }, 'Push-to-talk hotkey failed'));
  };
  let registered = false;
  try {
    registered = globalShortcut.register(accelerator, toggle);
  } catch (error) {
    agent.logger.warn(
      { accelerator, err: toErrorShape(error) },
      'ASSISTANT_PTT_HOTKEY is not a valid accelerator; the in-window Space key still works',
    );
    return;
  }
  if (!registered) agent.logger.warn({ accelerator }, 'The push-to-talk hotkey is taken by another app; set ASSISTANT_PTT_HOTKEY to another one');
}

/**
 * One router client per window (webContents): its calls are cancelled when the window goes away or loads another page,
 * whose call ids start again.
 */
function routerClients(router: CommandRouter): (sender: WebContents) => RouterClient {
  const clients = new Map<number, RouterClient>();
  return (sender) => {
    const known = clients.get(sender.id);
    if (known) return known;
    const client = router.connect();
    clients.set(sender.id, client);
    const onNavigation = (details: { isMainFrame: boolean; isSameDocument: boolean }) => {
      if (details.isMainFrame && !details.isSameDocument) forget();
    };
    const forget = () => {
      client.disconnect();
      clients.delete(sender.id);
      sender.off('destroyed', forget);
      sender.off('did-start-navigation', onNavigation);
    };
    sender.once('destroyed', forget);
    sender.on('did-start-navigation', onNavigation);
    return client;
  };
}

app.whenReady().then(async () => {
  // better-sqlite3 built for Electron's ABI lives apart from the Node build the tests use: scripts/start.js points
  // ASSISTANT_SQLITE_ELECTRON_BINDING at it, which the agent's settings read.
  // A damaged database or an unusable data folder does not stop the app: the agent starts in recovery mode and the
  // window shows the problem (and offers to move a damaged database aside), as the headless host does.
  const agent = createRecoverableAgent({ documents: { background: true } });
  // The same router as the headless host's WebSocket: frames validated, calls cancellable, failures as {code, message}.
  const clientOf = routerClients(createCommandRouter(agent));

  ipcMain.handle(ELECTRON_CALL_CHANNEL, async (event, frame: unknown): Promise<ElectronCallReply> => {
    // A cancel frame answers nothing; the preload only sends call frames here.
    return (await clientOf(event.sender).receive(frame)) ?? { kind: 'failure', id: UNKNOWN_CALL_ID, error: { code: 'INVALID_MESSAGE', message: 'Not a call frame.' } };
  });
  ipcMain.on(ELECTRON_CANCEL_CHANNEL, (event, frame: unknown) => void clientOf(event.sender).receive(frame));
  ipcMain.on(ELECTRON_MIC_FRAME_CHANNEL, (_event, frame: unknown) => {
    // The renderer is another process: only well-formed PCM reaches the voice pipeline; anything else is dropped.
    if (!(frame instanceof ArrayBuffer) && !(frame instanceof Uint8Array)) return;
    const pcm = parseMicFrame(frame);
    if (pcm) agent.sendMicFrame(pcm);
  });
  ipcMain.handle(ELECTRON_PICK_MODEL_FILE_CHANNEL, async (event, request: unknown): Promise<string | null> => {
    const whisper = (request as { role?: unknown } | undefined)?.role === 'stt-whisper';
    const owner = BrowserWindow.fromWebContents(event.sender);
    const options: Electron.OpenDialogOptions = {
      title: whisper ? 'Choose a Whisper model (ggml .bin)' : 'Choose a chat model (.gguf)',
      properties: ['openFile'],
      filters: whisper ? [{ name: 'Whisper ggml model', extensions: ['bin'] }] : [{ name: 'GGUF model', extensions: ['gguf'] }],
    };
    const picked = owner ? await dialog.showOpenDialog(owner, options) : await dialog.showOpenDialog(options);
    return picked.canceled ? null : (picked.filePaths[0] ?? null);
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
    agent
      .close()
      .catch((error: unknown) => agent.logger.error({ err: toErrorShape(error) }, 'The agent did not close cleanly'))
      .finally(() => app.quit());
  });
}).catch((error: unknown) => {
  // Startup failed before a window could show it (a bad env var value, say): tell the user, then quit.
  dialog.showErrorBox('Local Voice Assistant could not start', toErrorShape(error).message);
  app.exit(1);
});
