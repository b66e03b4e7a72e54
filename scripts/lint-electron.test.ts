import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS module without types
import { lintElectron } from './lint-electron.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = 'src-main/electron/electronMain.main.ts';
const PAGE = 'src-renderer/index.html';

interface Finding {
  issue: { id: string };
  file: string;
  justification?: { why: string };
}

const unjustified = (findings: Finding[]) => findings.filter((finding) => !finding.justification).map((finding) => `${finding.issue.id} ${finding.file}`);

function edited(file: string, edits: Array<[string | RegExp, string]>): string {
  let text = readFileSync(path.join(root, file), 'utf8');
  for (const [from, to] of edits) {
    const next = text.replace(from, to);
    if (next === text) throw new Error(`${file} no longer contains ${String(from)}: update this test`);
    text = next;
  }
  return text;
}

describe('npm run lint:electron (electronegativity over src-main/electron and the renderer page)', () => {
  it('scans the Electron sources and the page, and finds nothing that is not justified', async () => {
    const { files, findings, errors } = await lintElectron();
    expect(files).toEqual(expect.arrayContaining([MAIN, 'src-main/electron/preload.preload.ts', 'src-main/electron/electronSecurity.ts', PAGE]));
    expect(files.some((file: string) => file.endsWith('.test.ts'))).toBe(false);
    expect(errors).toEqual([]);
    expect(unjustified(findings)).toEqual([]);
  });

  it('fails when the window loses its sandbox, context isolation or navigation limits', async () => {
    const { findings } = await lintElectron({
      replace: {
        [MAIN]: edited(MAIN, [
          ['contextIsolation: true', 'contextIsolation: false'],
          ['sandbox: true', 'sandbox: false'],
          ["contents.on('will-navigate'", "contents.on('did-navigate'"],
          ['contents.setWindowOpenHandler(', 'contents.setWindowOpenHandlerLater('],
        ]),
      },
    });
    expect(unjustified(findings)).toEqual(
      expect.arrayContaining([`CONTEXT_ISOLATION_JS_CHECK ${MAIN}`, `SANDBOX_JS_CHECK ${MAIN}`, 'LIMIT_NAVIGATION_GLOBAL_CHECK N/A']),
    );
  });

  it("fails when the page's policy allows eval, and when the page has none", async () => {
    const weak = await lintElectron({ replace: { [PAGE]: edited(PAGE, [["script-src 'self'", "script-src 'self' 'unsafe-eval'"]]) } });
    expect(unjustified(weak.findings)).toEqual([`CSP_GLOBAL_CHECK ${PAGE}`]);
    const none = await lintElectron({ replace: { [PAGE]: edited(PAGE, [[/<meta http-equiv="Content-Security-Policy"[^>]*>/, '']]) } });
    expect(unjustified(none.findings)).toEqual(['CSP_GLOBAL_CHECK N/A']);
  });
});
