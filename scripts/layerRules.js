// The layer rules behind the README's picture, checked on every import:
// - src-shared is pure TypeScript: no Node built-ins, no packages with native or DOM parts, nothing from other layers.
// - src-renderer never imports src-main; src-main never imports src-renderer.
// - only src-main/electron imports `electron`.
// - a file that imports Node built-ins says so in its name (.node.ts, .main.ts, .preload.ts) or is a test / script.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
const SHARED_ALLOWED_PACKAGES = new Set(['zod']);

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(full);
    else if (/\.(ts|tsx)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield full;
  }
}

export function importsOf(source) {
  const found = [];
  for (const match of source.matchAll(IMPORT)) found.push(match[1] ?? match[2]);
  return found;
}

/** Violations for one file, given its path relative to the project root. */
export function checkFile(relativePath, source) {
  const file = relativePath.split(path.sep).join('/');
  const layer = file.split('/')[0];
  const isTest = /\.test\.tsx?$/.test(file) || file.includes('/testing/');
  const violations = [];
  for (const specifier of importsOf(source)) {
    const isNodeBuiltin = specifier.startsWith('node:');
    const isRelative = specifier.startsWith('.');
    const target = isRelative ? path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)).split('/')[0] : undefined;
    const problem = (why) => violations.push(`${file}: imports "${specifier}": ${why}`);
    if (layer === 'src-shared') {
      if (isNodeBuiltin) problem('src-shared must not use Node');
      else if (!isRelative && !SHARED_ALLOWED_PACKAGES.has(specifier) && !isTest && specifier !== 'fast-check' && specifier !== 'vitest')
        problem('src-shared may only import zod');
      else if (target && target !== 'src-shared') problem('src-shared must not import other layers');
    }
    if (layer === 'src-renderer' && target === 'src-main') problem('the renderer must not import the main process');
    if (layer === 'src-main' && target === 'src-renderer') problem('the main process must not import the renderer');
    if (layer === 'src-main' && specifier === 'electron' && !file.startsWith('src-main/electron/')) {
      problem('only src-main/electron may import electron; the agent runs without it');
    }
    if (layer === 'src-main' && isNodeBuiltin && !isTest && !/\.(node|main|preload)\.ts$/.test(file)) {
      problem('a file that uses Node built-ins is named *.node.ts');
    }
  }
  return violations;
}

export function checkLayers(root) {
  const violations = [];
  for (const layer of ['src-shared', 'src-main', 'src-renderer']) {
    for (const file of sourceFiles(path.join(root, layer))) {
      violations.push(...checkFile(path.relative(root, file), readFileSync(file, 'utf8')));
    }
  }
  return violations;
}
