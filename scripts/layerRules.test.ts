import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS module without types
import { checkFile, checkLayers } from './layerRules.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('layer rules (what keeps the README picture true)', () => {
  it('the project follows them', () => {
    expect(checkLayers(root)).toEqual([]);
  });
  it('flag Node in src-shared, electron in the agent, cross-layer imports and unsuffixed Node files', () => {
    expect(checkFile('src-shared/x.ts', "import fs from 'node:fs';")).toHaveLength(1);
    expect(checkFile('src-shared/x.ts', "import React from 'react';")).toHaveLength(1);
    expect(checkFile('src-main/agent/x.node.ts', "import { app } from 'electron';")).toHaveLength(1);
    expect(checkFile('src-main/electron/x.main.ts', "import { app } from 'electron';")).toEqual([]);
    expect(checkFile('src-renderer/x.dom.ts', "import { y } from '../src-main/agent/y.js';")).toHaveLength(1);
    expect(checkFile('src-main/agent/plain.ts', "import { createHash } from 'node:crypto';")).toHaveLength(1);
    expect(checkFile('src-main/agent/plain.node.ts', "import { createHash } from 'node:crypto';")).toEqual([]);
  });
});
