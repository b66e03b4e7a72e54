import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const resolved = new Map<string, Promise<URL>>();

/**
 * Where a worker thread's code is. The app runs the script tsc compiled next to the caller (`compiledUrl`). Under
 * vitest and vite-node there is only the TypeScript source (`sourceUrl`), which a worker thread cannot load (it does
 * not go through vite, and Node 20 cannot strip types), so the source is bundled with esbuild (a dev dependency, only
 * loaded here). npm packages stay imports, not bundled: they may find wasm, native addons or model files next to
 * themselves. So the bundle is written inside the project's `node_modules/.cache/worker-scripts/`, where those imports
 * resolve. Its name holds a hash of its content: test processes running at once write the same file, and a changed
 * source gets a new one.
 */
export function resolveWorkerScript(compiledUrl: URL, sourceUrl: URL): Promise<URL> {
  let script = resolved.get(compiledUrl.href);
  if (script === undefined) {
    script = existsSync(compiledUrl) ? Promise.resolve(compiledUrl) : bundleWorkerSource(sourceUrl);
    resolved.set(compiledUrl.href, script);
    script.catch(() => resolved.delete(compiledUrl.href));
  }
  return script;
}

async function bundleWorkerSource(sourceUrl: URL): Promise<URL> {
  const sourcePath = fileURLToPath(sourceUrl);
  const nodeModules = nodeModulesAbove(sourcePath);
  const { build } = await import('esbuild');
  const { outputFiles } = await build({
    entryPoints: [sourcePath],
    absWorkingDir: path.dirname(nodeModules), // the paths esbuild writes into comments do not depend on the cwd
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    logLevel: 'silent',
  });
  const code = outputFiles[0]!.contents;
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const dir = path.join(nodeModules, '.cache', 'worker-scripts');
  const file = path.join(dir, `${path.basename(sourcePath, '.ts')}-${hash}.mjs`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    // Written aside and renamed, so a worker started by another process never reads half a file.
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, code);
    renameSync(partial, file);
    removeOldBundles(dir, path.basename(sourcePath, '.ts'), file);
  }
  return pathToFileURL(file);
}

/** Bundles of earlier versions of the source, once no test still starting could want them (10 minutes on). */
function removeOldBundles(dir: string, name: string, current: string): void {
  for (const entry of readdirSync(dir)) {
    const file = path.join(dir, entry);
    if (file === current || !entry.startsWith(`${name}-`)) continue;
    try {
      if (Date.now() - statSync(file).mtimeMs > 10 * 60_000) rmSync(file, { force: true });
    } catch {
      // another process removed it first
    }
  }
}

/** The node_modules folder Node would search first for the source's bare imports. */
function nodeModulesAbove(file: string): string {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`No node_modules folder above ${file}: run "npm install".`);
  }
}
