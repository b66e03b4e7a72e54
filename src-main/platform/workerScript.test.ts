import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveWorkerScript } from './workerScript.node.js';

// Sources live inside the project (under node_modules/.cache), as real worker sources do, so bare imports resolve.
const cache = join(import.meta.dirname, '../../node_modules/.cache');
mkdirSync(cache, { recursive: true });
const dir = mkdtempSync(join(cache, 'worker-script-test-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  const bundles = join(cache, 'worker-scripts');
  for (const file of readdirSync(bundles)) if (/^(sample|aging)\.node-/.test(file)) rmSync(join(bundles, file), { force: true });
});

function runWorker(script: URL): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(script);
    worker.once('message', (message) => {
      resolve(message);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

describe('resolveWorkerScript', () => {
  it('gives the compiled script when there is one', async () => {
    const compiled = join(dir, 'compiled.node.js');
    writeFileSync(compiled, '');
    expect(await resolveWorkerScript(pathToFileURL(compiled), pathToFileURL(join(dir, 'compiled.node.ts')))).toEqual(pathToFileURL(compiled));
  });

  it('bundles the TypeScript source with its own modules, leaving npm packages as imports that resolve', async () => {
    writeFileSync(join(dir, 'helper.ts'), 'export const double = (n: number): number => n * 2;\n');
    writeFileSync(
      join(dir, 'sample.node.ts'),
      `import { parentPort } from 'node:worker_threads';
import { LRUCache } from 'lru-cache';
import { double } from './helper.js';
const cache = new LRUCache<string, number>({ max: 2 });
cache.set('answer', double(21));
parentPort!.postMessage(cache.get('answer'));
`,
    );
    const script = await resolveWorkerScript(pathToFileURL(join(dir, 'sample.node.js')), pathToFileURL(join(dir, 'sample.node.ts')));
    const bundled = readFileSync(fileURLToPath(script), 'utf8');
    expect(fileURLToPath(script)).toMatch(/node_modules[/\\]\.cache[/\\]worker-scripts[/\\]sample\.node-[0-9a-f]{16}\.mjs$/);
    expect(bundled).toContain('from "lru-cache"'); // imported, not copied in
    expect(bundled).not.toContain('./helper'); // the project's own module is in the bundle
    expect(await runWorker(script)).toBe(42);
  });

  it('removes the bundles of earlier versions of a source once they are old', async () => {
    const bundles = join(cache, 'worker-scripts');
    const old = join(bundles, 'aging.node-0000000000000000.mjs');
    const recent = join(bundles, 'aging.node-1111111111111111.mjs');
    mkdirSync(bundles, { recursive: true });
    for (const file of [old, recent]) writeFileSync(file, '');
    const elevenMinutesAgo = new Date(Date.now() - 11 * 60_000);
    utimesSync(old, elevenMinutesAgo, elevenMinutesAgo);
    writeFileSync(join(dir, 'aging.node.ts'), `export const version = ${Date.now()};\n`);
    const script = await resolveWorkerScript(pathToFileURL(join(dir, 'aging.node.js')), pathToFileURL(join(dir, 'aging.node.ts')));
    expect(existsSync(old)).toBe(false);
    expect(existsSync(recent)).toBe(true); // another process may still be starting a worker from it
    expect(existsSync(fileURLToPath(script))).toBe(true);
  });
});
