/**
 * The Electron main process: a thin shell. It creates the same agent as every other host and exposes the shared
 * contract to the renderer over IPC. All logic lives in the agent, and the security decisions in electronSecurity.ts;
 * electronMain.test.ts checks the wiring against a fake `electron` module (no Electron binary is needed).
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  app,
  BrowserWindow,
  dialog,
  globalShortcut,
  ipcMain,
  safeStorage,
  session,
  type IpcMainEvent,
  type IpcMainInvokeEvent,
  type WebContents,
} from 'electron';
import { AGENT_EVENT_CHANNEL, parseMicFrame, toErrorShape } from '../../src-shared/contract/index.js';
import { resolveEnvSettings } from '../agent/agentSettings.node.js';
import { RepeatedAudit } from '../agent/audit.js';
import { createCommandRouter, UNKNOWN_CALL_ID, type CommandRouter, type RouterClient } from '../app/commandRouter.js';
import { createRecoverableAgent, type RecoverableAgent } from '../app/recoverableAgent.node.js';
import {
  ELECTRON_CALL_CHANNEL,
  ELECTRON_CANCEL_CHANNEL,
  ELECTRON_MIC_FRAME_CHANNEL,
  ELECTRON_PICK_MODEL_FILE_CHANNEL,
  type ElectronCallReply,
} from './electronChannels.js';
import {
  ELECTRON_CSP_HEADER,
  isAllowedPermissionCheck,
  isAllowedPermissionRequest,
  isAppPageUrl,
  isTrustedIpcSender,
  refusalAudit,
  withContentSecurityPolicy,
  type IpcSenderFrame,
  type SecurityRefusal,
} from './electronSecurity.js';
import { sealedKeyStore } from './sealedDatabaseKey.main.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The one page this app shows, and the only document trusted with IPC and the microphone. */
const appPageUrl = pathToFileURL(path.resolve(here, '../../renderer/index.html')).href;

// Every renderer sandboxed, whatever its webPreferences say (must be called before the app is ready).
app.enableSandbox();

/** The frame an IPC message came from, or null when it has navigated away or is gone. */
function senderFrameOf(event: IpcMainEvent | IpcMainInvokeEvent): IpcSenderFrame | null {
  try {
    const frame = event.senderFrame;
    return frame ? { url: frame.url, isMainFrame: frame.parent === null } : null;
  } catch {
    // A disposed frame throws on access.
    return null;
  }
}

/**
 * Navigation and new windows, for every webContents the app ever creates: the app page may reload itself, nothing else
 * opens. The app has no links to open in the system browser, so nothing is handed to shell.openExternal either.
 */
function limitNavigation(refuse: (refusal: SecurityRefusal) => void): void {
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (navigation) => {
      if (isAppPageUrl(navigation.url, appPageUrl)) return;
      navigation.preventDefault();
      refuse({ kind: 'navigation', url: navigation.url });
    });
    contents.setWindowOpenHandler(({ url }) => {
      refuse({ kind: 'window-open', url });
      return { action: 'deny' };
    });
  });
}

/**
 * The microphone for the app page and nothing else, and the CSP header on every response. Older Electron versions did
 * not show file: responses to webRequest; the page's own meta tag holds the same policy (with connect-src 'self'), so
 * the page is covered either way, and where the header arrives too, connect-src is 'none'.
 */
function limitSession(refuse: (refusal: SecurityRefusal) => void): void {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_webContents, permission, callback, details) => {
    const allowed = isAllowedPermissionRequest(permission, details, appPageUrl);
    if (!allowed) refuse({ kind: 'permission', subject: permission, url: details.requestingUrl });
    callback(allowed);
  });
  // Checks are Chromium's own queries (they come before requests, and unprompted): answered, not logged.
  ses.setPermissionCheckHandler((_webContents, permission, _requestingOrigin, details) => isAllowedPermissionCheck(permission, details, appPageUrl));
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: withContentSecurityPolicy(details.responseHeaders, ELECTRON_CSP_HEADER) });
  });
}

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
  // better-sqlite3-multiple-ciphers built for Electron's ABI lives apart from the Node build the tests use: scripts/start.js points
  // ASSISTANT_SQLITE_ELECTRON_BINDING at it, which the agent's settings read.
  // A damaged database or an unusable data folder does not stop the app: the agent starts in recovery mode and the
  // window shows the problem (and offers to move a damaged database aside), as the headless host does.
  // The databases are encrypted in the app unless ASSISTANT_ENCRYPT=off, with a key sealed by the system keychain
  // (safeStorage), as Signal Desktop does; without a keychain, a 0600 key file in the data dir.
  const settings = resolveEnvSettings(process.env);
  const sealed = sealedKeyStore(settings.dataDir, safeStorage);
  const agent = createRecoverableAgent({
    documents: { background: true },
    config: { encryptDatabase: settings.encrypt ?? true },
    ...(sealed.store && { databaseKeyStore: sealed.store }),
  });
  if (sealed.unavailable) agent.logger.warn({ reason: sealed.unavailable }, 'database key kept in a 0600 file, not sealed by a keychain');
  // Security events in the audit log ({"audit": "electron-refused", kind, subject, url}), repeats counted, not repeated.
  const auditor = new RepeatedAudit(agent.logger);
  const refuse = (refusal: SecurityRefusal) => {
    const { series, fields } = refusalAudit(refusal);
    auditor.record('electron-refused', series, fields);
  };
  limitNavigation(refuse);
  limitSession(refuse);
  /** Every IPC handler asks first: only the app page's top-level frame may talk to the main process. */
  const fromAppPage = (channel: string, event: IpcMainEvent | IpcMainInvokeEvent): boolean => {
    const frame = senderFrameOf(event);
    if (isTrustedIpcSender(frame, appPageUrl)) return true;
    refuse({ kind: 'ipc-sender', subject: channel, url: frame?.url ?? '(no frame)' });
    return false;
  };
  // The same router as the headless host's WebSocket: frames validated, calls cancellable, failures as {code, message}.
  const clientOf = routerClients(createCommandRouter(agent));

  ipcMain.handle(ELECTRON_CALL_CHANNEL, async (event, frame: unknown): Promise<ElectronCallReply> => {
    if (!fromAppPage(ELECTRON_CALL_CHANNEL, event)) {
      return { kind: 'failure', id: UNKNOWN_CALL_ID, error: { code: 'INVALID_MESSAGE', message: 'Refused: only the app page may call the assistant.' } };
    }
    // A cancel frame answers nothing; the preload only sends call frames here.
    return (await clientOf(event.sender).receive(frame)) ?? { kind: 'failure', id: UNKNOWN_CALL_ID, error: { code: 'INVALID_MESSAGE', message: 'Not a call frame.' } };
  });
  ipcMain.on(ELECTRON_CANCEL_CHANNEL, (event, frame: unknown) => {
    if (fromAppPage(ELECTRON_CANCEL_CHANNEL, event)) void clientOf(event.sender).receive(frame);
  });
  ipcMain.on(ELECTRON_MIC_FRAME_CHANNEL, (event, frame: unknown) => {
    if (!fromAppPage(ELECTRON_MIC_FRAME_CHANNEL, event)) return;
    // The renderer is another process: only well-formed PCM reaches the voice pipeline; anything else is dropped.
    if (!(frame instanceof ArrayBuffer) && !(frame instanceof Uint8Array)) return;
    const pcm = parseMicFrame(frame);
    if (pcm) agent.sendMicFrame(pcm);
  });
  ipcMain.handle(ELECTRON_PICK_MODEL_FILE_CHANNEL, async (event, request: unknown): Promise<string | null> => {
    if (!fromAppPage(ELECTRON_PICK_MODEL_FILE_CHANNEL, event)) return null;
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

  const window = new BrowserWindow({
    width: 1100,
    height: 760,
    title: 'Local Voice Assistant',
    webPreferences: {
      preload: path.join(here, 'preload.cjs'),
      // Electron's defaults, written out: the checklist is visible here and checked by `npm run lint:electron`.
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      // Spoken answers in hands-free mode must be audible before the user has clicked anything.
      autoplayPolicy: 'no-user-gesture-required',
    },
  });
  const unsubscribe = agent.listen((event) => {
    // Conversations go to the app page only, never to a page the window might have been taken to.
    if (!window.isDestroyed() && isAppPageUrl(window.webContents.getURL(), appPageUrl)) window.webContents.send(AGENT_EVENT_CHANNEL, event);
  });
  await window.loadURL(appPageUrl);

  app.on('window-all-closed', () => {
    unsubscribe();
    auditor.flush();
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
