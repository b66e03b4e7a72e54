#!/usr/bin/env node
// The `assistant` CLI. Runs the compiled TypeScript in build/ (made by `npm install` via the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../build/src-main/cli/assistantCli.node.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('The assistant is not built yet. Run "npm run build" (npm install does it for you).\n');
  process.exit(1);
}
// runAssistantCliMain turns any uncaught error into one line (a JSON error with --json); stacks only with ASSISTANT_DEBUG=1.
let runAssistantCliMain;
try {
  ({ runAssistantCliMain } = await import(entry.href));
} catch (error) {
  process.stderr.write(`The assistant failed to load: ${error?.message ?? error}. Try "npm run build".\n`);
  if (process.env.ASSISTANT_DEBUG === '1') process.stderr.write(`${error?.stack ?? ''}\n`);
  process.exit(1);
}
const code = await runAssistantCliMain(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
process.exitCode = code;
