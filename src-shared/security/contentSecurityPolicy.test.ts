import { describe, expect, it } from 'vitest';
import { HOST_CSP_HEADER, parseCsp, RENDERER_CSP_META, serializeCsp } from './contentSecurityPolicy.js';

describe('the renderer Content-Security-Policy', () => {
  for (const [name, policy] of [
    ['meta tag', RENDERER_CSP_META],
    ['host header', HOST_CSP_HEADER],
  ] as const) {
    describe(name, () => {
      const directives = parseCsp(policy);

      it('blocks everything not named, and allows no eval, inline code or WebAssembly compilation', () => {
        expect(directives.get('default-src')).toEqual(["'none'"]);
        expect(policy).not.toMatch(/'unsafe-eval'|'unsafe-inline'|'wasm-unsafe-eval'|'unsafe-hashes'/);
      });

      it('runs only the app own scripts and styles', () => {
        expect(directives.get('script-src')).toEqual(["'self'"]);
        expect(directives.get('style-src')).toEqual(["'self'"]);
      });

      it('connects only to the page own origin (the host WebSocket), not to any other host or scheme', () => {
        expect(directives.get('connect-src')).toEqual(["'self'"]);
        for (const sources of directives.values()) {
          for (const source of sources) expect(source).not.toMatch(/^\*|^(https?|wss?|blob|filesystem):/);
        }
      });

      it('lets no page rewrite its base URL or post a form anywhere', () => {
        expect(directives.get('base-uri')).toEqual(["'none'"]);
        expect(directives.get('form-action')).toEqual(["'none'"]);
      });
    });
  }

  it('adds frame-ancestors only in the header, where browsers honour it (a meta tag would log an error)', () => {
    expect(parseCsp(RENDERER_CSP_META).has('frame-ancestors')).toBe(false);
    expect(parseCsp(HOST_CSP_HEADER).get('frame-ancestors')).toEqual(["'none'"]);
    expect(HOST_CSP_HEADER.startsWith(RENDERER_CSP_META)).toBe(true);
  });

  it('serializes directives in order, sources separated by spaces, and reads them back as a browser does', () => {
    const policy = serializeCsp({ 'default-src': ["'none'"], 'img-src': ["'self'", 'data:'] });
    expect(policy).toBe("default-src 'none'; img-src 'self' data:");
    expect([...parseCsp(policy)]).toEqual([
      ['default-src', ["'none'"]],
      ['img-src', ["'self'", 'data:']],
    ]);
    // A repeated directive is ignored by browsers: the first one counts.
    expect(parseCsp("script-src 'self'; SCRIPT-SRC *").get('script-src')).toEqual(["'self'"]);
  });
});
