import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Every file under `dir` (recursively) whose bytes hold `text` in UTF-8, relative to `dir`: where a secret leaked. */
export function filesContaining(dir: string, text: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (readFileSync(file).includes(Buffer.from(text, 'utf8'))) found.push(path.relative(dir, file));
  }
  return found;
}
