// `npm run lint:electron`: Doyensec's electronegativity (Electron security checks) over the Electron surface, i.e. the
// main process, the preload and their helpers (src-main/electron) and the page they load (src-renderer/index.html,
// for its Content-Security-Policy). Fails on any finding that JUSTIFIED below does not explain.
//
// It runs electronegativity's API, not its CLI: the CLI reads its options the commander 2 way (`program.input`), and
// commander is not among its dependencies, so it gets whichever commander npm hoists (10 here, which keeps options in
// `program.opts()`), sees no --input, and prints its usage. And it runs offline and deterministically: the checks
// that fetch anything (translations on every run; Electron's release list) get no network.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** The files scanned, relative to the project root: every Electron source but the tests, and the renderer's page. */
export function electronSurface() {
  const electronDir = 'src-main/electron';
  const sources = readdirSync(path.join(root, electronDir))
    .filter((name) => /\.(ts|js)$/.test(name) && !/\.test\.ts$/.test(name))
    .map((name) => `${electronDir}/${name}`);
  return [...sources, 'src-renderer/index.html'];
}

/**
 * Checks that are not run. AvailableSecurityFixesGlobalCheck downloads Electron's release list on every run: it
 * needs the network and its answer changes from day to day. Electron is a devDependency kept current with the other
 * dependencies (npm outdated / audit); this lint checks the code.
 */
export const EXCLUDED_CHECKS = ['AvailableSecurityFixesGlobalCheck'];

/**
 * Findings that were reviewed and are accepted, each with why. One matches a finding by check id and file (line
 * numbers move) and, where given, a test of the finding itself, so that a worse finding of the same check still fails.
 */
export const JUSTIFIED = [
  {
    check: 'PRELOAD_JS_CHECK',
    file: 'src-main/electron/electronMain.main.ts',
    why:
      'A review flag for any preload. Reviewed: preload.preload.ts exposes only the typed `assistantBridge` (call, cancel, onEvent, ' +
      'sendMicFrame, pickModelFile, pathForFile) through contextBridge, never ipcRenderer or Node; the window is sandboxed and ' +
      'context-isolated, and the main process checks the sender frame of every IPC message.',
  },
  {
    check: 'AUXCLICK_JS_CHECK',
    file: 'src-main/electron/electronMain.main.ts',
    why:
      "Asks for `disableBlinkFeatures: 'Auxclick'` against middle-click opening links in new windows. Chromium has no such Blink " +
      'feature any more (the setting does nothing; electron/electron#10315, #20318); what the check protects against is handled ' +
      "where Electron's maintainers point: every new window is denied by setWindowOpenHandler and every navigation away from the " +
      "app page by will-navigate. The app has no links, and the CSP's default-src 'none' loads no frames.",
  },
  {
    check: 'CSP_GLOBAL_CHECK',
    file: 'src-renderer/index.html',
    // Only when that note is the policy's one concern: 'unsafe-eval' or 'unsafe-inline' (also only "maybe" concerns
    // to csp-evaluator), a missing directive or a policy that does not parse still fail.
    when: (issue) => {
      const concerns = cspConcerns(issue.sample);
      return concerns.length > 0 && concerns.every((concern) => concern.directive === 'script-src' && concern.value === "'self'");
    },
    why:
      "csp-evaluator notes that script-src 'self' \"can be problematic if you host JSONP, Angular or user uploaded files\". The " +
      "headless host's origin holds none of them: it serves only the built renderer (build/renderer, no source maps, no " +
      'dotfiles), and uploaded documents go to the agent over the WebSocket and are never served back. In Electron the page is a ' +
      "file: URL, where Chromium matches 'self' by scheme, so any local file could be a script source if markup were ever " +
      'injected (React escapes all text; nothing sets innerHTML); serving the page from a custom app:// protocol would narrow that.',
  },
];

const electronegativityRequire = createRequire(require.resolve('@doyensec/electronegativity'));

/**
 * What csp-evaluator (Google's, as electronegativity's CSP_GLOBAL_CHECK runs it) finds wrong with a policy: the
 * findings of the severities that check reports (high, medium and their "maybe"s), or one of its own if it does not parse.
 */
export function cspConcerns(policy) {
  const csp = electronegativityRequire('@doyensec/csp-evaluator');
  const reported = [csp.severities.HIGH, csp.severities.MEDIUM, csp.severities.HIGH_MAYBE, csp.severities.MEDIUM_MAYBE];
  try {
    const findings = new csp.CspEvaluator(new csp.CspParser(policy).csp, csp.Version.CSP3).evaluate();
    return findings.filter((finding) => reported.includes(finding.severity));
  } catch {
    return [{ directive: '', value: '', description: 'the policy does not parse' }];
  }
}

/** `got`, as electronegativity's translation fetch and release-list check see it: nothing is there (404). */
function withoutNetwork() {
  const gotPath = electronegativityRequire.resolve('got');
  const offline = new Module(gotPath);
  offline.filename = gotPath;
  offline.loaded = true;
  offline.exports = async () => ({ statusCode: 404, body: '' });
  require.cache[gotPath] = offline;
}

/**
 * Copies the surface into a scratch folder (electronegativity takes one input), with the same relative paths;
 * `replace` gives some files other contents (the tests check that the lint catches an insecure change).
 */
function stage(files, replace) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'electronegativity-'));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    if (file in replace) writeFileSync(path.join(dir, file), replace[file]);
    else copyFileSync(path.join(root, file), path.join(dir, file));
  }
  return dir;
}

/** Runs the checks; every finding comes with its justification, or none. */
export async function lintElectron({ replace = {} } = {}) {
  withoutNetwork();
  const runner = require('@doyensec/electronegativity');
  // Babel's add-module-exports: the module is the function itself.
  const run = runner.default ?? runner;
  const electronVersion = require('electron/package.json').version;
  const files = electronSurface();
  const dir = stage(files, replace);
  let result;
  try {
    result = await run(
      {
        input: dir,
        isRelative: true,
        customScan: [],
        excludeFromScan: EXCLUDED_CHECKS,
        parserPlugins: [],
        // The scan has no package.json: without the version it would assume Electron 0.1 and its insecure defaults.
        electronVersionOverride: electronVersion,
      },
      false,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const findings = result.issues.map((issue) => {
    const file = issue.file.split(path.sep).join('/');
    const justification = JUSTIFIED.find((entry) => entry.check === issue.id && entry.file === file && (!entry.when || entry.when(issue)));
    return { issue, file, justification };
  });
  return { files, electronVersion, checks: result.globalChecks + result.atomicChecks, errors: result.errors, findings };
}

async function main() {
  const started = Date.now();
  const { files, electronVersion, checks, errors, findings } = await lintElectron();
  for (const error of errors) console.error(`electronegativity could not parse ${error.file}: ${error.message}`);
  for (const { issue, file, justification } of findings) {
    const where = issue.location.line > 0 ? `${file}:${issue.location.line}` : file;
    const verdict = justification ? 'justified' : 'NOT JUSTIFIED';
    console.log(`${verdict}: ${issue.id} (${issue.severity.name}, ${issue.confidence.name}) ${where}\n  ${issue.description}`);
    if (justification) console.log(`  why: ${justification.why}`);
  }
  const unjustified = findings.filter((finding) => !finding.justification).length;
  const failed = unjustified > 0 || errors.some((error) => !error.tolerable);
  console.log(
    `electronegativity (Electron ${electronVersion}, ${checks} checks, ${files.length} files, ${Date.now() - started} ms): ` +
      `${findings.length} finding(s), ${unjustified} not justified${failed ? '' : ': ok'}`,
  );
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
