// Bundles the Electron preload to CommonJS: sandboxed preloads cannot load ES modules or relative imports.
import { build } from 'esbuild';

await build({
  entryPoints: ['src-main/electron/preload.preload.ts'],
  outfile: 'build/src-main/electron/preload.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  external: ['electron'],
  target: 'node20',
  logLevel: 'warning',
});
