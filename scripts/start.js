// `npm start`: the Electron app when its binary is there; otherwise, say so and serve the same UI in browser mode.
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

let electron = findElectronBinary(root);
if (!electron.found && !forceBrowser && process.env.ASSISTANT_SKIP_ELECTRON_DOWNLOAD !== '1') {
  console.log(`Electron binary missing (${electron.problem}). Trying to download it once…`);
  const install = spawnSync(process.execPath, [path.join(root, 'node_modules/electron/install.js')], {
    cwd: root,
    stdio: 'inherit',
    timeout: 60_000,
  });
  if (install.status === 0) electron = findElectronBinary(root);
}

if (electron.found && !forceBrowser) {
  const binding = electronSqliteBinding(electron.version);
  const child = spawn(electron.path, [root, ...args.filter((a) => a !== '--browser')], {
    stdio: 'inherit',
    env: { ...process.env, ...(binding && { ASSISTANT_SQLITE_ELECTRON_BINDING: binding }) },
  });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  if (!forceBrowser) {
    console.log(
      `\nNo Electron binary, and it could not be downloaded: ${electron.problem}\n` +
        'Serving the same assistant UI in browser mode instead; open the URL below in your browser.\n',
    );
  }
  const child = spawn(process.execPath, [path.join(root, 'bin/assistant.js'), 'serve', ...args.filter((a) => a !== '--browser')], {
    stdio: 'inherit',
  });
  const forward = (signal) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code) => process.exit(code ?? 0));
}

/**
 * better-sqlite3 for Electron's ABI, built once into build/native/electron-<version>/ from a copy of the package, so the
 * Node build in node_modules (used by the CLI and the tests) is never replaced. Needs Electron's headers (online, once).
 */
function electronSqliteBinding(version) {
  const target = path.join(root, 'build/native', `electron-${version}`);
  const binding = path.join(target, 'build/Release/better_sqlite3.node');
  if (existsSync(binding)) return binding;
  console.log(`Building better-sqlite3 for Electron ${version} (once)…`);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(path.dirname(target), { recursive: true });
  cpSync(path.join(root, 'node_modules/better-sqlite3'), target, { recursive: true });
  const gyp = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules/node-gyp/bin/node-gyp.js'), 'rebuild', '--release', `--target=${version}`, '--dist-url=https://electronjs.org/headers'],
    { cwd: target, stdio: 'inherit' },
  );
  if (gyp.status !== 0 || !existsSync(binding)) {
    console.error(
      'Could not build better-sqlite3 for Electron (it needs Electron\'s headers, downloaded once). ' +
        'Run "npm start -- --browser" to use browser mode, or retry when online.',
    );
    process.exit(1);
  }
  return binding;
}
