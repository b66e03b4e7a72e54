import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DomUtils, parseDocument } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { parseCsp, RENDERER_CSP_META } from '../src-shared/security/contentSecurityPolicy.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SOURCE_HTML = path.join(here, 'index.html');
/** Where `npm run build:renderer` writes (vite.config.ts: outDir), what the headless host serves and Electron loads. */
const BUILT_HTML = path.resolve(here, '../build/renderer/index.html');

type Element = ReturnType<typeof DomUtils.getElementsByTagName>[number];

function readPage(file: string) {
  const document = parseDocument(readFileSync(file, 'utf8'));
  const head = DomUtils.getElementsByTagName('head', document.children)[0];
  if (!head) throw new Error(`${file} has no <head>`);
  const elements = (tag: string) => DomUtils.getElementsByTagName(tag, document.children);
  const cspMetas = elements('meta').filter((meta) => meta.attribs['http-equiv']?.toLowerCase() === 'content-security-policy');
  /** The CSP governs only what comes after its meta tag, so it must come before every script, stylesheet and icon. */
  const headElements = head.children.filter((node): node is Element => node.type === 'tag');
  return { document, elements, cspMetas, headElements };
}

describe('the renderer page carries the Content-Security-Policy', () => {
  it('in src-renderer/index.html: one meta tag, the shared policy, before anything it governs', () => {
    const page = readPage(SOURCE_HTML);
    expect(page.cspMetas).toHaveLength(1);
    expect(page.cspMetas[0]!.attribs.content).toBe(RENDERER_CSP_META);
    const firstLoaded = page.headElements.findIndex((element) => element.name === 'script' || element.name === 'link');
    expect(page.headElements.indexOf(page.cspMetas[0]!)).toBeLessThan(firstLoaded === -1 ? Infinity : firstLoaded);
  });

  describe('in the built page (build/renderer/index.html)', () => {
    const built = () => {
      if (!existsSync(BUILT_HTML)) throw new Error(`${BUILT_HTML} is missing: run \`npm run build:renderer\` (\`npm test\` builds first).`);
      return readPage(BUILT_HTML);
    };

    it('has the same meta tag, with no eval, before the bundle and the stylesheet', () => {
      const page = built();
      expect(page.cspMetas).toHaveLength(1);
      const policy = page.cspMetas[0]!.attribs.content ?? '';
      expect(policy).toBe(RENDERER_CSP_META);
      expect(policy).not.toContain('unsafe-eval');
      expect(parseCsp(policy).get('script-src')).toEqual(["'self'"]);
      const metaAt = page.headElements.indexOf(page.cspMetas[0]!);
      const loaded = page.headElements.filter((element) => element.name === 'script' || element.name === 'link');
      expect(loaded.length).toBeGreaterThan(0);
      for (const element of loaded) expect(page.headElements.indexOf(element)).toBeGreaterThan(metaAt);
    });

    it('has nothing the policy would block: no inline script or style, no event-handler attributes, no other origin', () => {
      const page = built();
      const scripts = page.elements('script');
      expect(scripts.length).toBeGreaterThan(0);
      for (const script of scripts) {
        expect(script.attribs.src, 'an inline <script> (script-src has no unsafe-inline)').toBeDefined();
        expect(script.attribs.src).toMatch(/^\.\/assets\//);
      }
      expect(page.elements('style'), 'an inline <style> (style-src has no unsafe-inline)').toHaveLength(0);
      const all = DomUtils.getElementsByTagType('tag', page.document.children);
      for (const element of all) {
        for (const name of Object.keys(element.attribs)) expect(name, `<${element.name} ${name}>`).not.toMatch(/^on|^style$/i);
      }
      for (const link of page.elements('link')) expect(link.attribs.href, `<link rel=${link.attribs.rel}>`).toMatch(/^\.\/assets\/|^data:,$/);
    });
  });
});
