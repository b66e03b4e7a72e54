/**
 * The Electron main process, wired to a fake `electron` module (there is no Electron binary to run it with): do the
 * window, the IPC handlers, navigation and the session really use the decisions of electronSecurity.ts? The
 * decisions themselves are tested in electronSecurity.test.ts.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ELECTRON_CSP_HEADER } from './electronSecurity.js';

// The fakes take whatever Electron would pass them.
type Listener = (...args: any[]) => any;

const fake = vi.hoisted(() => {
  const appListeners = new Map<string, Listener[]>();
  const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  const agentListeners = new Set<Listener>();
  return {
    appListeners,
    ipcHandlers: new Map<string, Listener>(),
    ipcListeners: new Map<string, Listener>(),
    windows: [] as Array<{ options: any; loadedUrl?: string; webContents: { send: ReturnType<typeof vi.fn>; getURL: () => string } }>,
    pageUrl: '',
    session: { permissionRequest: undefined as Listener | undefined, permissionCheck: undefined as Listener | undefined, headers: undefined as Listener | undefined },
    enableSandbox: vi.fn(),
    showOpenDialog: vi.fn(async () => ({ canceled: false, filePaths: ['/models/chat.gguf'] })),
    /** What the main process passed to createRecoverableAgent. */
    agentOptions: undefined as any,
    logger,
    agentListeners,
    agent: {
      logger,
      call: vi.fn(async () => ({ state: 'warm' })),
      listen: (listener: Listener) => {
        agentListeners.add(listener);
        return () => agentListeners.delete(listener);
      },
      sendMicFrame: vi.fn(),
      close: vi.fn(async () => undefined),
    },
  };
});

vi.mock('electron', () => {
  class BrowserWindow {
    static fromWebContents() {
      return null;
    }
    loadedUrl?: string;
    webContents = { send: vi.fn(), getURL: () => fake.pageUrl };
    constructor(readonly options: unknown) {
      fake.windows.push(this as never);
    }
    isDestroyed() {
      return false;
    }
    async loadURL(url: string) {
      this.loadedUrl = url;
      fake.pageUrl = url;
    }
  }
  return {
    app: {
      enableSandbox: fake.enableSandbox,
      whenReady: () => Promise.resolve(),
      on: (event: string, listener: Listener) => fake.appListeners.set(event, [...(fake.appListeners.get(event) ?? []), listener]),
      quit: vi.fn(),
      exit: vi.fn(),
    },
    BrowserWindow,
    dialog: { showOpenDialog: fake.showOpenDialog, showErrorBox: vi.fn() },
    globalShortcut: { register: vi.fn(() => true), unregisterAll: vi.fn() },
    safeStorage: {
      isEncryptionAvailable: () => true,
      getSelectedStorageBackend: () => 'gnome_libsecret',
      encryptString: (text: string) => Buffer.from(text, 'utf8').reverse(),
      decryptString: (sealed: Buffer) => Buffer.from(sealed).reverse().toString('utf8'),
    },
    ipcMain: {
      handle: (channel: string, handler: Listener) => fake.ipcHandlers.set(channel, handler),
      on: (channel: string, listener: Listener) => fake.ipcListeners.set(channel, listener),
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (handler: Listener) => (fake.session.permissionRequest = handler),
        setPermissionCheckHandler: (handler: Listener) => (fake.session.permissionCheck = handler),
        webRequest: { onHeadersReceived: (handler: Listener) => (fake.session.headers = handler) },
      },
    },
  };
});

vi.mock('../app/recoverableAgent.node.js', () => ({
  createRecoverableAgent: (options: unknown) => {
    fake.agentOptions = options;
    return fake.agent;
  },
}));

let senders = 0;
/** An IPC event from a frame with this URL (null: the frame is gone). */
function ipcEvent(frame: { url: string; isMainFrame: boolean } | null) {
  const sender = { id: ++senders, on: vi.fn(), once: vi.fn(), off: vi.fn() };
  return { sender, senderFrame: frame && { url: frame.url, parent: frame.isMainFrame ? null : {} } };
}

function refusals(kind: string) {
  return fake.logger.warn.mock.calls.map(([fields]) => fields as { audit?: string; kind?: string; subject?: string; url?: string }).filter((fields) => fields.audit === 'electron-refused' && fields.kind === kind);
}

describe('the Electron main process uses the security decisions', () => {
  let appPage: string;

  beforeAll(async () => {
    await import('./electronMain.main.js');
    await vi.waitFor(() => expect(fake.windows[0]?.loadedUrl).toBeDefined());
    appPage = fake.windows[0]!.loadedUrl!;
  });

  it('encrypts the databases by default, with a key sealed by the system keychain (safeStorage)', () => {
    // ASSISTANT_ENCRYPT is not set in the tests: the app's default applies.
    expect(process.env.ASSISTANT_ENCRYPT ?? '').toBe('');
    expect(fake.agentOptions.config).toMatchObject({ encryptDatabase: true });
    expect(fake.agentOptions.databaseKeyStore.location).toMatch(/db-key\.sealed \(sealed by the system keychain\)$/);
  });

  it('opens one sandboxed, context-isolated window on the app page, without Node', () => {
    expect(fake.enableSandbox).toHaveBeenCalled();
    expect(appPage).toMatch(/^file:\/\/.*\/renderer\/index\.html$/);
    expect(fake.windows[0]!.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true });
  });

  it('every IPC handler refuses a frame that is not the app page top-level frame, and logs it', async () => {
    const channels = [...fake.ipcHandlers.keys(), ...fake.ipcListeners.keys()];
    expect(channels.sort()).toEqual(['agent:call', 'agent:cancel-call', 'agent:mic-frame', 'models:pick-file']);
    const untrusted = [{ url: 'https://example.com/', isMainFrame: true }, { url: appPage, isMainFrame: false }, null];
    for (const frame of untrusted) {
      for (const [channel, handler] of [...fake.ipcHandlers, ...fake.ipcListeners]) {
        const payload = channel === 'agent:mic-frame' ? new Uint8Array(640) : { kind: 'call', id: 1, command: 'agent:status' };
        const reply = await handler(ipcEvent(frame), payload);
        if (channel === 'agent:call') expect(reply).toMatchObject({ kind: 'failure' });
        if (channel === 'models:pick-file') expect(reply).toBeNull();
      }
    }
    expect(fake.agent.call).not.toHaveBeenCalled();
    expect(fake.agent.sendMicFrame).not.toHaveBeenCalled();
    expect(fake.showOpenDialog).not.toHaveBeenCalled();
    expect(new Set(refusals('ipc-sender').map((refusal) => refusal.subject))).toEqual(new Set(channels));
  });

  it('serves the app page top-level frame', async () => {
    const trusted = { url: `${appPage}?reload=1`, isMainFrame: true };
    expect(await fake.ipcHandlers.get('agent:call')!(ipcEvent(trusted), { kind: 'call', id: 7, command: 'agent:status' })).toMatchObject({ kind: 'result', id: 7 });
    fake.ipcListeners.get('agent:mic-frame')!(ipcEvent(trusted), new Uint8Array(640));
    expect(fake.agent.sendMicFrame).toHaveBeenCalledTimes(1);
    expect(await fake.ipcHandlers.get('models:pick-file')!(ipcEvent(trusted), { role: 'llm' })).toBe('/models/chat.gguf');
  });

  it('keeps every webContents on the app page and opens no windows', () => {
    const handlers = new Map<string, Listener>();
    let windowOpenHandler: Listener | undefined;
    const contents = { on: (event: string, handler: Listener) => handlers.set(event, handler), setWindowOpenHandler: (handler: Listener) => (windowOpenHandler = handler) };
    for (const listener of fake.appListeners.get('web-contents-created') ?? []) listener({}, contents);

    const away = { url: 'https://example.com/phish', preventDefault: vi.fn() };
    handlers.get('will-navigate')!(away);
    expect(away.preventDefault).toHaveBeenCalled();
    const reload = { url: appPage, preventDefault: vi.fn() };
    handlers.get('will-navigate')!(reload);
    expect(reload.preventDefault).not.toHaveBeenCalled();

    expect(windowOpenHandler!({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
    expect(windowOpenHandler!({ url: appPage })).toEqual({ action: 'deny' });
    expect(refusals('navigation').map((refusal) => refusal.url)).toEqual(['https://example.com/phish']);
    expect(refusals('window-open').length).toBeGreaterThan(0);
  });

  it('grants the microphone to the app page and nothing else', () => {
    const answer = (permission: string, details: object) => {
      let granted: boolean | undefined;
      fake.session.permissionRequest!({}, permission, (allowed: boolean) => (granted = allowed), details);
      return granted;
    };
    expect(answer('media', { requestingUrl: appPage, isMainFrame: true, mediaTypes: ['audio'] })).toBe(true);
    expect(answer('media', { requestingUrl: appPage, isMainFrame: true, mediaTypes: ['audio', 'video'] })).toBe(false);
    expect(answer('notifications', { requestingUrl: appPage, isMainFrame: true })).toBe(false);
    expect(refusals('permission').map((refusal) => refusal.subject)).toEqual(['media', 'notifications']);

    expect(fake.session.permissionCheck!({}, 'media', 'file:///', { requestingUrl: appPage, isMainFrame: true, mediaType: 'audio' })).toBe(true);
    expect(fake.session.permissionCheck!({}, 'media', 'file:///', { requestingUrl: appPage, isMainFrame: true, mediaType: 'video' })).toBe(false);
    expect(fake.session.permissionCheck!({}, 'clipboard-read', 'file:///', { requestingUrl: appPage, isMainFrame: true })).toBe(false);
  });

  it('adds the CSP header to responses', () => {
    let headers: Record<string, string[]> | undefined;
    fake.session.headers!({ url: appPage, responseHeaders: { 'Content-Type': ['text/html'] } }, (response: { responseHeaders: Record<string, string[]> }) => (headers = response.responseHeaders));
    expect(headers).toEqual({ 'Content-Type': ['text/html'], 'Content-Security-Policy': [ELECTRON_CSP_HEADER] });
  });

  it('sends agent events to the app page only', () => {
    const send = fake.windows[0]!.webContents.send;
    send.mockClear();
    const event = { type: 'conversations-changed' };
    for (const listener of fake.agentListeners) listener(event);
    expect(send).toHaveBeenCalledTimes(1);
    fake.pageUrl = 'https://example.com/';
    for (const listener of fake.agentListeners) listener(event);
    expect(send).toHaveBeenCalledTimes(1);
    fake.pageUrl = appPage;
  });
});
