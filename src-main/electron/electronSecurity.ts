/**
 * The Electron window's security decisions, as plain functions of plain data so they are tested without Electron
 * (electronSecurity.test.ts); electronMain.main.ts only wires them to Electron's events. The one trusted document is
 * the app's own page: the renderer's index.html, loaded from disk (`appPageUrl`, a file: URL).
 */
import { RENDERER_CSP_DIRECTIVES, serializeCsp } from '../../src-shared/security/contentSecurityPolicy.js';

/**
 * The policy Electron adds as a response header, on top of the page's meta tag. Both are enforced, so in Electron
 * connect-src is 'none': the page reaches the agent over IPC and needs no network connection at all.
 */
export const ELECTRON_CSP_HEADER = serializeCsp({
  ...RENDERER_CSP_DIRECTIVES,
  'connect-src': ["'none'"],
  'frame-ancestors': ["'none'"],
});

/**
 * Whether `url` is the app's page: same scheme, host and path as `appPageUrl` (query and fragment may differ; the
 * URL parser has already resolved `..` and `%2e`). Anything unparsable is not.
 */
export function isAppPageUrl(url: string | undefined, appPageUrl: string): boolean {
  if (!url) return false;
  let candidate: URL;
  let app: URL;
  try {
    candidate = new URL(url);
    app = new URL(appPageUrl);
  } catch {
    return false;
  }
  return candidate.protocol === app.protocol && candidate.host === app.host && candidate.pathname === app.pathname;
}

/** The frame an IPC message came from (`event.senderFrame`); null once that frame is gone. */
export interface IpcSenderFrame {
  url: string;
  /** No parent frame: the window's top-level document, not an iframe inside it. */
  isMainFrame: boolean;
}

/** Only the app page's top-level frame may call the main process; an iframe or any other page may not. */
export function isTrustedIpcSender(frame: IpcSenderFrame | null, appPageUrl: string): boolean {
  return frame !== null && frame.isMainFrame && isAppPageUrl(frame.url, appPageUrl);
}

/** What Electron's permission request handler is told (PermissionRequest / MediaAccessPermissionRequest). */
export interface PermissionRequestDetails {
  requestingUrl?: string | undefined;
  isMainFrame: boolean;
  /** For `media`: 'audio' (microphone) and/or 'video' (camera). */
  mediaTypes?: readonly string[] | undefined;
}

/**
 * The microphone, for the app page, is the only permission granted: `media` asking for audio and nothing else (a
 * request that also wants the camera is refused whole). Notifications, geolocation, clipboard reads, screen capture,
 * MIDI, HID, USB, serial, fullscreen, openExternal, ... are all refused.
 */
export function isAllowedPermissionRequest(permission: string, details: PermissionRequestDetails, appPageUrl: string): boolean {
  const mediaTypes = details.mediaTypes ?? [];
  return (
    permission === 'media' &&
    mediaTypes.length > 0 &&
    mediaTypes.every((type) => type === 'audio') &&
    details.isMainFrame &&
    isAppPageUrl(details.requestingUrl, appPageUrl)
  );
}

/** What Electron's permission check handler is told (PermissionCheckHandlerHandlerDetails). */
export interface PermissionCheckDetails {
  requestingUrl?: string | undefined;
  isMainFrame: boolean;
  /** For `media`: 'audio', 'video' or 'unknown'. */
  mediaType?: string | undefined;
}

/** The synchronous check Chromium makes before (or instead of) a request: the same rule, one media type at a time. */
export function isAllowedPermissionCheck(permission: string, details: PermissionCheckDetails, appPageUrl: string): boolean {
  return permission === 'media' && details.mediaType === 'audio' && details.isMainFrame && isAppPageUrl(details.requestingUrl, appPageUrl);
}

/**
 * Response headers with our Content-Security-Policy added. A policy the response already had (under any spelling of
 * the name) is kept beside it: every policy is enforced, so adding one can only restrict.
 */
export function withContentSecurityPolicy(headers: Readonly<Record<string, readonly string[] | string>> | undefined, policy: string): Record<string, string[]> {
  const others: Record<string, string[]> = {};
  const existing: string[] = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    const values = typeof value === 'string' ? [value] : [...value];
    if (name.toLowerCase() === 'content-security-policy') existing.push(...values);
    else others[name] = values;
  }
  return { ...others, 'Content-Security-Policy': [...existing, policy] };
}

/** A refused navigation, window, permission or IPC message, for the log. */
export interface SecurityRefusal {
  kind: 'navigation' | 'window-open' | 'permission' | 'ipc-sender';
  /** The URL it came from or went to. */
  url: string;
  /** The permission or IPC channel, when there is one. */
  subject?: string | undefined;
}

/** Longest URL written to the log: the page chose it, so it is kept short. */
const LOGGED_URL_CHARS = 200;

/**
 * A refusal as an audit entry: its fields, and the series its repeats are counted in (a hostile page may repeat one 33
 * times a second, a mic frame per 30 ms; the audit log counts the repeats instead of writing each).
 */
export function refusalAudit(refusal: SecurityRefusal): { series: string; fields: { kind: string; url: string; subject?: string } } {
  const url = refusal.url.length <= LOGGED_URL_CHARS ? refusal.url : `${refusal.url.slice(0, LOGGED_URL_CHARS)}…`;
  const fields = refusal.subject === undefined ? { kind: refusal.kind, url } : { kind: refusal.kind, subject: refusal.subject, url };
  return { series: [refusal.kind, refusal.subject ?? '', url].join(' '), fields };
}
