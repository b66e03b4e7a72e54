// `npm run lint`: fails when an import breaks the layer rules (see layerRules.js).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkLayers } from './layerRules.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const violations = checkLayers(root);
for (const violation of violations) console.error(violation);
console.log(violations.length === 0 ? 'Layer rules: ok' : `Layer rules: ${violations.length} violation(s)`);
process.exit(violations.length === 0 ? 0 : 1);
