/**
 * The renderer page's Content-Security-Policy: what the page really loads, and nothing else. One page is served two
 * ways (by the headless host over HTTP, and from disk by Electron), so the policy is written once here and used by both
 * hosts; src-renderer/index.html carries the same text in its meta tag (a test keeps the two equal).
 *
 * What the renderer loads, checked in its source and its build:
 * - scripts: the built bundle, and the mic capture AudioWorklet, a separate file under assets/ (a worklet's
 *   `addModule` is governed by script-src). No eval or `new Function` (zod runs jitless, see src-renderer/zodConfig.ts),
 *   and no WebAssembly in the page: flite, Whisper and the VAD run in the main process. So no 'unsafe-eval' and no
 *   'wasm-unsafe-eval'.
 * - styles: the built stylesheet. React's `style` props go through the CSSOM, which style-src does not govern.
 * - images: the empty favicon `data:,` in index.html (it saves a request for /favicon.ico).
 * - connections: in browser mode only the host's WebSocket on the page's own origin (`ws://127.0.0.1:PORT/ws`); CSP
 *   Level 3 makes 'self' match ws: on the same host and port. In Electron the page talks over IPC and connects nowhere.
 * - no fonts, media elements, frames, workers, plugins or forms. Spoken answers are WebAudio buffers, not media URLs.
 */

/** Directive name → its sources, in the order they are written. */
export type CspDirectives = Readonly<Record<string, readonly string[]>>;

export const RENDERER_CSP_DIRECTIVES: CspDirectives = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
};

export function serializeCsp(directives: CspDirectives): string {
  return Object.entries(directives)
    .map(([name, sources]) => [name, ...sources].join(' '))
    .join('; ');
}

/** A policy read back as directive → sources, as a browser reads it: names are case-insensitive, the first of a repeat counts. */
export function parseCsp(policy: string): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const part of policy.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name && !directives.has(name.toLowerCase())) directives.set(name.toLowerCase(), sources);
  }
  return directives;
}

/** The policy in src-renderer/index.html's meta tag, the same in both modes. */
export const RENDERER_CSP_META = serializeCsp(RENDERER_CSP_DIRECTIVES);

/**
 * The policy the headless host sends with the page. A header can say what a meta tag cannot: frame-ancestors (no
 * other site may frame the app; browsers ignore it in a meta tag and log an error).
 */
export const HOST_CSP_HEADER = serializeCsp({ ...RENDERER_CSP_DIRECTIVES, 'frame-ancestors': ["'none'"] });
