// `npm start`: the Electron app when its binary is there; otherwise, say so in one line and serve the same UI in
// browser mode. `npm start -- --pull` (or ASSISTANT_PULL=1) first downloads the default chat model if it is missing.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, cpSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = path.join(root, 'build/src-main/platform/electronBinary.node.js');
if (!existsSync(built) || !existsSync(path.join(root, 'build/renderer/index.html'))) {
  console.log('Building the app first…');
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const { findElectronBinary } = await import(built);
const args = process.argv.slice(2);
const forceBrowser = args.includes('--browser') || process.env.ASSISTANT_BROWSER_MODE === '1';
const pull = args.includes('--pull') || process.env.ASSISTANT_PULL === '1';
const passedOn = args.filter((arg) => arg !== '--browser' && arg !== '--pull');

if (pull) await pullMissingModels();

let electron = findElectronBinary(root);
let downloadFailure;
if (!electron.found && !forceBrowser && electron.version !== undefined && process.env.ASSISTANT_SKIP_ELECTRON_DOWNLOAD !== '1') {
  // Electron's installer prints a raw stack trace when it cannot download (offline): run it quietly, say one line.
  if (process.stdout.isTTY) process.stdout.write('Downloading the Electron app (once)… ');
  const install = spawnSync(process.execPath, [path.join(root, 'node_modules/electron/install.js')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (install.status === 0) electron = findElectronBinary(root);
  if (!electron.found) downloadFailure = installFailureReason(install);
  if (process.stdout.isTTY) process.stdout.write(electron.found ? 'done.\n' : 'not possible. ');
}

if (electron.found && !forceBrowser) {
  const binding = electronSqliteBinding(electron.version);
  const child = spawn(electron.path, [root, ...passedOn], {
    stdio: 'inherit',
    env: { ...process.env, ...(binding && { ASSISTANT_SQLITE_ELECTRON_BINDING: binding }) },
  });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  if (!forceBrowser) {
    const why = downloadFailure ? `it could not be downloaded: ${downloadFailure}` : electron.problem;
    console.log(`No Electron app binary (${why}); serving the same UI in browser mode instead: open the URL below.`);
  }
  const child = spawn(process.execPath, [path.join(root, 'bin/assistant.js'), 'serve', ...passedOn], { stdio: 'inherit' });
  const forward = (signal) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code) => process.exit(code ?? 0));
}

/** Why Electron's installer failed, in a few words (its own output is a stack trace). */
function installFailureReason(install) {
  if (install.error?.code === 'ETIMEDOUT') return 'the download took longer than a minute';
  const output = `${install.stderr ?? ''}\n${install.stdout ?? ''}`;
  if (/fetch failed|ENOTFOUND|ECONNREFUSED|EAI_AGAIN|ETIMEDOUT|ECONNRESET|getaddrinfo/.test(output)) return 'no connection to its download server';
  const firstLine = output.split('\n').map((line) => line.trim()).find((line) => line !== '' && !line.startsWith('at ')) ?? 'the installer failed';
  return firstLine.length > 120 ? `${firstLine.slice(0, 120)}…` : firstLine;
}

/**
 * --pull: the default chat model, downloaded in the terminal before the UI opens, with the same progress bar as
 * `assistant models pull` (it is that command). Nothing to do when a model file is named (ASSISTANT_LLM_MODEL) or the
 * model is already there. A failed download does not stop the app: its first-run card offers the download again.
 */
async function pullMissingModels() {
  if ((process.env.ASSISTANT_LLM_MODEL ?? '') !== '') return;
  const { resolveDefaultModel } = await import(path.join(root, 'build/src-main/models/modelResolver.node.js'));
  let resolution;
  try {
    resolution = resolveDefaultModel('llm');
  } catch (error) {
    // A bad ASSISTANT_MODELS_MANIFEST: one line naming the file.
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  }
  if (resolution.found) {
    console.log(`The chat model is here: ${resolution.path}`);
    return;
  }
  // Progress goes to the terminal as it comes; the error paragraph is kept back for one short sentence instead.
  const run = spawnSync(process.execPath, [path.join(root, 'bin/assistant.js'), 'models', 'pull', resolution.id], {
    cwd: root,
    stdio: ['inherit', 'inherit', 'pipe'],
    encoding: 'utf8',
  });
  const errors = run.stderr ?? '';
  const problemAt = errors.search(/^(?:[A-Z_]+: |Error)/m);
  process.stderr.write(problemAt < 0 || run.status === 0 ? errors : errors.slice(0, problemAt));
  if (run.status === 0) return;
  const { downloadTargetPath } = await import(path.join(root, 'build/src-main/models/modelResolver.node.js'));
  const { knownModelManifest } = await import(path.join(root, 'build/src-main/models/modelManifest.node.js'));
  const entry = knownModelManifest().find((model) => model.id === resolution.id);
  const target = entry ? downloadTargetPath(entry) : undefined;
  const offline = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|fetch failed|ETIMEDOUT|ECONNRESET|no data arrived/.test(errors);
  const what = offline ? `No connection to download ${resolution.id}` : `The download of ${resolution.id} did not finish`;
  console.log(target ? `${what}: copy ${path.basename(target)} to ${path.dirname(target)}, or choose a model file in the app.` : `${what}; choose a model file in the app.`);
}

/**
 * The SQLite driver (better-sqlite3-multiple-ciphers, which encrypts) for Electron's ABI, built once into
 * build/native/electron-<version>-sqlcipher/ from a copy of the package, so the Node build in node_modules (used by the
 * CLI and the tests) is never replaced. The name differs from the plain better-sqlite3 builds of earlier versions: that
 * addon has no cipher and must never be picked up. Needs Electron's headers (online, once).
 */
function electronSqliteBinding(version) {
  const target = path.join(root, 'build/native', `electron-${version}-sqlcipher`);
  const binding = path.join(target, 'build/Release/better_sqlite3.node');
  if (existsSync(binding)) return binding;
  console.log(`Building the SQLite driver for Electron ${version} (once)…`);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(path.dirname(target), { recursive: true });
  cpSync(path.join(root, 'node_modules/better-sqlite3-multiple-ciphers'), target, { recursive: true });
  const gyp = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules/node-gyp/bin/node-gyp.js'), 'rebuild', '--release', `--target=${version}`, '--dist-url=https://electronjs.org/headers'],
    { cwd: target, stdio: 'inherit' },
  );
  if (gyp.status !== 0 || !existsSync(binding)) {
    console.error(
      'Could not build the SQLite driver (better-sqlite3-multiple-ciphers) for Electron (it needs Electron\'s headers, downloaded once). ' +
        'Run "npm start -- --browser" to use browser mode, or retry when online.',
    );
    process.exit(1);
  }
  return binding;
}
