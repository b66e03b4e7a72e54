// Makes sure the SQLite driver (better-sqlite3-multiple-ciphers: SQLite with SQLCipher encryption) in node_modules
// loads in this Node (the tests' ABI). The Electron-ABI build is kept apart (see start.js), so switching between
// `npm test` and `npm start` never breaks either.
import { execSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function loads() {
  try {
    const Database = require('better-sqlite3-multiple-ciphers');
    new Database(':memory:').close();
    return true;
  } catch (error) {
    console.error(`better-sqlite3-multiple-ciphers does not load in Node ${process.version}: ${error.message.split('\n')[0]}`);
    return false;
  }
}

if (!loads()) {
  console.error('Rebuilding better-sqlite3-multiple-ciphers for this Node (takes a couple of minutes)…');
  execSync('npm rebuild better-sqlite3-multiple-ciphers', { stdio: 'inherit' });
  if (!loads()) process.exit(1);
}
