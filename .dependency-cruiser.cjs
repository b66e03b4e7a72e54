// The layer order behind the README's picture, enforced on every import (npm run lint; CI runs it):
//   src-shared ← src-main/agent ← features (voice, documents, guards, models) ← src-main/app ← hosts (host, cli, electron, bench)
// src-main/testing holds test fixtures: only tests import it, and it is neither built nor packaged.
/** @type {import('dependency-cruiser').IConfiguration} */
const notTest = '(\\.test\\.tsx?$|^src-main/testing/|^e2e/|^scripts/)';
module.exports = {
  forbidden: [
    {
      name: 'shared-is-pure',
      comment: 'src-shared is the contract: it imports no other layer.',
      severity: 'error',
      from: { path: '^src-shared/' },
      to: { path: '^(src-main|src-renderer)/' },
    },
    {
      name: 'agent-imports-only-shared',
      comment: 'The agent imports only src-shared and its own folders; voice, documents, guards and models plug into it from the app.',
      severity: 'error',
      from: { path: '^src-main/agent/', pathNot: notTest },
      to: { path: '^src-main/', pathNot: '^src-main/agent/' },
    },
    {
      name: 'features-below-app',
      comment: 'Features (voice, documents, guards, models) may use the agent and src-shared, never the app or a host.',
      severity: 'error',
      from: { path: '^src-main/(voice|documents|guards|models|platform)/', pathNot: notTest },
      to: { path: '^src-main/(app|host|cli|electron|bench)/' },
    },
    {
      name: 'app-below-hosts',
      comment: 'The composition root builds the assistant; the hosts (host, cli, electron, bench) use it.',
      severity: 'error',
      from: { path: '^src-main/app/', pathNot: notTest },
      to: { path: '^src-main/(host|cli|electron|bench)/' },
    },
    {
      name: 'no-test-fixtures-in-the-product',
      comment: 'Test fixtures (protocol servers, file servers) live in src-main/testing and never ship.',
      severity: 'error',
      from: { path: '^(src-main|src-shared|src-renderer)/', pathNot: notTest },
      to: { path: '^src-main/testing/' },
    },
    {
      name: 'renderer-and-main-apart',
      comment: 'The renderer talks to the main process only through the contract in src-shared.',
      severity: 'error',
      from: { path: '^src-renderer/' },
      to: { path: '^src-main/' },
    },
    {
      name: 'main-not-renderer',
      severity: 'error',
      from: { path: '^src-main/' },
      to: { path: '^src-renderer/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(build|node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js', '.cjs', '.mjs'] },
  },
};
