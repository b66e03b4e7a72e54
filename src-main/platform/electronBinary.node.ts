import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export interface ElectronBinaryCheck {
  found: boolean;
  /** The executable, when found. */
  path?: string;
  /** The installed `electron` package version, when the package is installed. */
  version?: string;
  /** Why it is missing and what to do. */
  problem?: string;
}

/**
 * Finds the Electron executable without loading `electron` (whose index.js throws when the binary was never
 * downloaded). Honours ELECTRON_OVERRIDE_DIST_PATH like Electron's own launcher.
 */
export function findElectronBinary(fromDir: string = process.cwd()): ElectronBinaryCheck {
  const require = createRequire(path.join(fromDir, 'noop.js'));
  let packageDir: string;
  let version: string;
  try {
    const packageJson = require.resolve('electron/package.json');
    packageDir = path.dirname(packageJson);
    version = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
  } catch {
    return { found: false, problem: 'The electron package is not installed. Run "npm install".' };
  }
  const howToGet =
    `Download it with "node ${path.join(packageDir, 'install.js')}" when online, or set ELECTRON_OVERRIDE_DIST_PATH ` +
    `to a folder holding an Electron ${version} build.`;
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (override) {
    const executable = path.join(override, executableName());
    return existsSync(executable)
      ? { found: true, path: executable, version }
      : { found: false, version, problem: `ELECTRON_OVERRIDE_DIST_PATH has no ${executableName()} (${executable}). ${howToGet}` };
  }
  const pathFile = path.join(packageDir, 'path.txt');
  if (!existsSync(pathFile)) {
    return { found: false, version, problem: `The Electron ${version} binary was never downloaded (no ${pathFile}). ${howToGet}` };
  }
  const executable = path.join(packageDir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(executable)
    ? { found: true, path: executable, version }
    : { found: false, version, problem: `The Electron binary is missing at ${executable}. ${howToGet}` };
}

function executableName(): string {
  if (process.platform === 'win32') return 'electron.exe';
  if (process.platform === 'darwin') return 'Electron.app/Contents/MacOS/Electron';
  return 'electron';
}
