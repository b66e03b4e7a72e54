import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const rendererRoot = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: rendererRoot,
  // Relative asset URLs: the same build is served by the headless host and loaded from disk by Electron.
  base: './',
  plugins: [react()],
  // The mic capture worklet is bundled on its own (`?worker&url`) and loaded by audioWorklet.addModule, which takes a module.
  worker: { format: 'es' },
  build: {
    outDir: '../build/renderer',
    emptyOutDir: true,
    sourcemap: true,
  },
});
