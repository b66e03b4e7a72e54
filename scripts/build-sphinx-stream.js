// Builds the streaming PocketSphinx decoder (native/sphinx-stream/sphinxStream.c) into build/native/sphinx-stream,
// against Debian's libpocketsphinx-dev. Optional: without a C compiler or the library's headers it says what to
// install and exits 0, and the app recognises speech with one pocketsphinx_continuous process per utterance instead.
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const source = path.join(root, 'native', 'sphinx-stream', 'sphinxStream.c');
const output = path.join(root, 'build', 'native', 'sphinx-stream');

function upToDate() {
  try {
    return statSync(output).mtimeMs >= statSync(source).mtimeMs;
  } catch {
    return false;
  }
}

if (process.platform !== 'linux') {
  process.exit(0);
}
if (upToDate()) process.exit(0);
let flags;
try {
  flags = execFileSync('pkg-config', ['--cflags', '--libs', 'pocketsphinx'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split(/\s+/);
} catch {
  console.warn(
    'Note: the streaming PocketSphinx decoder was not built (pkg-config finds no pocketsphinx). For faster voice on Linux: ' +
      'sudo apt-get install gcc pkg-config libpocketsphinx-dev pocketsphinx-en-us, then npm run build.',
  );
  process.exit(0);
}
mkdirSync(path.dirname(output), { recursive: true });
try {
  execFileSync('cc', ['-O2', '-Wall', '-o', output, source, ...flags, '-lm'], { stdio: 'inherit' });
  console.log(`Built ${path.relative(root, output)}.`);
} catch (error) {
  console.warn(`Note: the streaming PocketSphinx decoder did not build (${error.message.split('\n')[0]}); voice uses pocketsphinx_continuous instead.`);
}
