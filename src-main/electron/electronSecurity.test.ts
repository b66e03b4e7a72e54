import { describe, expect, it } from 'vitest';
import { parseCsp, RENDERER_CSP_META } from '../../src-shared/security/contentSecurityPolicy.js';
import {
  ELECTRON_CSP_HEADER,
  isAllowedPermissionCheck,
  isAllowedPermissionRequest,
  isAppPageUrl,
  isTrustedIpcSender,
  refusalAudit,
  withContentSecurityPolicy,
} from './electronSecurity.js';

/** Where a packaged app's page is: a space in the path, inside the asar archive. */
const APP_PAGE = 'file:///opt/Local%20Voice%20Assistant/resources/app.asar/build/renderer/index.html';
const APP_DIR = 'file:///opt/Local%20Voice%20Assistant/resources/app.asar/build/renderer';

describe('isAppPageUrl: which document is the app', () => {
  it('is the app page, also with a query or fragment, or a path that resolves to it', () => {
    expect(isAppPageUrl(APP_PAGE, APP_PAGE)).toBe(true);
    expect(isAppPageUrl(`${APP_PAGE}?conversation=3#end`, APP_PAGE)).toBe(true);
    expect(isAppPageUrl(`${APP_DIR}/assets/../index.html`, APP_PAGE)).toBe(true);
  });

  it('is not another file, even next to it, nor a page on another scheme or host', () => {
    for (const url of [
      `${APP_DIR}/other.html`,
      `${APP_DIR}/assets/index-abc123.js`,
      `${APP_DIR}/index.html.evil`,
      'file:///home/user/Downloads/index.html',
      'file://attacker-share/opt/Local%20Voice%20Assistant/resources/app.asar/build/renderer/index.html',
      'https://example.com/opt/Local%20Voice%20Assistant/resources/app.asar/build/renderer/index.html',
      'http://127.0.0.1:8123/',
      'data:text/html,<script>alert(1)</script>',
      'javascript:alert(1)',
      'about:blank',
      'devtools://devtools/bundled/inspector.html',
    ]) {
      expect(isAppPageUrl(url, APP_PAGE), url).toBe(false);
    }
  });

  it('is not an empty, missing or unparsable URL', () => {
    expect(isAppPageUrl('', APP_PAGE)).toBe(false);
    expect(isAppPageUrl(undefined, APP_PAGE)).toBe(false);
    expect(isAppPageUrl('not a url', APP_PAGE)).toBe(false);
  });
});

describe('isTrustedIpcSender: who may call the main process', () => {
  it('trusts the app page top-level frame', () => {
    expect(isTrustedIpcSender({ url: APP_PAGE, isMainFrame: true }, APP_PAGE)).toBe(true);
  });

  it('refuses a frame that is gone, an iframe (even of the app page), and any other page', () => {
    expect(isTrustedIpcSender(null, APP_PAGE)).toBe(false);
    expect(isTrustedIpcSender({ url: APP_PAGE, isMainFrame: false }, APP_PAGE)).toBe(false);
    expect(isTrustedIpcSender({ url: 'https://example.com/', isMainFrame: true }, APP_PAGE)).toBe(false);
    expect(isTrustedIpcSender({ url: `${APP_DIR}/other.html`, isMainFrame: true }, APP_PAGE)).toBe(false);
    expect(isTrustedIpcSender({ url: '', isMainFrame: true }, APP_PAGE)).toBe(false);
  });
});

/** Every permission Electron 45 can ask about (Session.setPermissionRequestHandler), but the microphone's. */
const OTHER_PERMISSIONS = [
  'ar',
  'automatic-fullscreen',
  'background-fetch',
  'background-sync',
  'captured-surface-control',
  'clipboard-read',
  'clipboard-sanitized-write',
  'deprecated-sync-clipboard-read',
  'display-capture',
  'fileSystem',
  'fullscreen',
  'geolocation',
  'geolocation-approximate',
  'hand-tracking',
  'hid',
  'idle-detection',
  'keyboardLock',
  'local-fonts',
  'local-network',
  'local-network-access',
  'loopback-network',
  'mediaKeySystem',
  'midi',
  'midiSysex',
  'nfc',
  'notifications',
  'openExternal',
  'payment-handler',
  'periodic-background-sync',
  'persistent-storage',
  'pointerLock',
  'screen-wake-lock',
  'sensors',
  'serial',
  'smart-card',
  'speaker-selection',
  'storage-access',
  'system-wake-lock',
  'top-level-storage-access',
  'usb',
  'vr',
  'web-app-installation',
  'web-printing',
  'window-management',
  'unknown',
];

describe('permission requests: the microphone for the app page, nothing else', () => {
  const fromApp = { requestingUrl: APP_PAGE, isMainFrame: true };

  it('grants the microphone to the app page', () => {
    expect(isAllowedPermissionRequest('media', { ...fromApp, mediaTypes: ['audio'] }, APP_PAGE)).toBe(true);
  });

  it('refuses the camera, alone or asked together with the microphone, and a media request that names no device', () => {
    expect(isAllowedPermissionRequest('media', { ...fromApp, mediaTypes: ['video'] }, APP_PAGE)).toBe(false);
    expect(isAllowedPermissionRequest('media', { ...fromApp, mediaTypes: ['audio', 'video'] }, APP_PAGE)).toBe(false);
    expect(isAllowedPermissionRequest('media', { ...fromApp, mediaTypes: [] }, APP_PAGE)).toBe(false);
    expect(isAllowedPermissionRequest('media', fromApp, APP_PAGE)).toBe(false);
  });

  it('refuses the microphone to any other page or to an iframe', () => {
    expect(isAllowedPermissionRequest('media', { requestingUrl: 'https://example.com/', isMainFrame: true, mediaTypes: ['audio'] }, APP_PAGE)).toBe(false);
    expect(isAllowedPermissionRequest('media', { requestingUrl: APP_PAGE, isMainFrame: false, mediaTypes: ['audio'] }, APP_PAGE)).toBe(false);
    expect(isAllowedPermissionRequest('media', { isMainFrame: true, mediaTypes: ['audio'] }, APP_PAGE)).toBe(false);
  });

  it('refuses every other permission, even to the app page', () => {
    for (const permission of OTHER_PERMISSIONS) {
      expect(isAllowedPermissionRequest(permission, { ...fromApp, mediaTypes: ['audio'] }, APP_PAGE), permission).toBe(false);
    }
  });
});

describe('permission checks: the same rule, one media type at a time', () => {
  const fromApp = { requestingUrl: APP_PAGE, isMainFrame: true };

  it('answers yes only for the microphone on the app page', () => {
    expect(isAllowedPermissionCheck('media', { ...fromApp, mediaType: 'audio' }, APP_PAGE)).toBe(true);
    expect(isAllowedPermissionCheck('media', { ...fromApp, mediaType: 'video' }, APP_PAGE)).toBe(false);
    expect(isAllowedPermissionCheck('media', { ...fromApp, mediaType: 'unknown' }, APP_PAGE)).toBe(false);
    expect(isAllowedPermissionCheck('media', fromApp, APP_PAGE)).toBe(false);
    expect(isAllowedPermissionCheck('media', { requestingUrl: 'https://example.com/', isMainFrame: true, mediaType: 'audio' }, APP_PAGE)).toBe(false);
    expect(isAllowedPermissionCheck('media', { requestingUrl: APP_PAGE, isMainFrame: false, mediaType: 'audio' }, APP_PAGE)).toBe(false);
    // A check made for no document (a service worker) has no URL.
    expect(isAllowedPermissionCheck('media', { isMainFrame: false, mediaType: 'audio' }, APP_PAGE)).toBe(false);
    for (const permission of OTHER_PERMISSIONS) {
      expect(isAllowedPermissionCheck(permission, { ...fromApp, mediaType: 'audio' }, APP_PAGE), permission).toBe(false);
    }
  });
});

describe('the CSP response header in Electron', () => {
  it('lets the page connect nowhere (it talks over IPC) and allows no eval', () => {
    const directives = parseCsp(ELECTRON_CSP_HEADER);
    expect(directives.get('connect-src')).toEqual(["'none'"]);
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(ELECTRON_CSP_HEADER).not.toMatch(/unsafe|\*/);
  });

  it('is never looser than the page meta tag: every other directive is the same', () => {
    const header = parseCsp(ELECTRON_CSP_HEADER);
    for (const [name, sources] of parseCsp(RENDERER_CSP_META)) {
      if (name !== 'connect-src') expect(header.get(name), name).toEqual(sources);
    }
  });

  it('is added to any response, beside a policy it already had', () => {
    expect(withContentSecurityPolicy(undefined, 'default-src x')).toEqual({ 'Content-Security-Policy': ['default-src x'] });
    expect(
      withContentSecurityPolicy({ 'content-type': ['text/html'], 'content-security-policy': ["script-src 'self'"], 'X-Thing': 'one' }, 'default-src x'),
    ).toEqual({ 'content-type': ['text/html'], 'X-Thing': ['one'], 'Content-Security-Policy': ["script-src 'self'", 'default-src x'] });
  });
});

describe('a refusal in the audit log', () => {
  it('names what was refused, where, and the channel or permission; repeats of it form one series', () => {
    const mic = refusalAudit({ kind: 'ipc-sender', subject: 'agent:mic-frame', url: 'https://example.com/' });
    expect(mic.fields).toEqual({ kind: 'ipc-sender', subject: 'agent:mic-frame', url: 'https://example.com/' });
    expect(refusalAudit({ kind: 'ipc-sender', subject: 'agent:mic-frame', url: 'https://example.com/' }).series).toBe(mic.series);
    expect(refusalAudit({ kind: 'ipc-sender', subject: 'agent:call', url: 'https://example.com/' }).series).not.toBe(mic.series);
    expect(refusalAudit({ kind: 'navigation', url: 'https://example.com/' }).fields).toEqual({ kind: 'navigation', url: 'https://example.com/' });
  });

  it('keeps a long URL short (the page chose it: a data: URL can be megabytes)', () => {
    const { fields } = refusalAudit({ kind: 'navigation', url: `data:text/html,${'x'.repeat(1_000_000)}` });
    expect(fields.url.length).toBeLessThanOrEqual(201);
    expect(fields.url.startsWith('data:text/html,xxx')).toBe(true);
  });
});
