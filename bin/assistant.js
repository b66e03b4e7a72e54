#!/usr/bin/env node
// The `assistant` CLI. Runs the compiled TypeScript in build/ (made by `npm install` via the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../build/src-main/cli/assistantCli.node.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('The assistant is not built yet. Run "npm run build" (npm install does it for you).\n');
  process.exit(1);
}
const { runAssistantCli } = await import(entry.href);
const code = await runAssistantCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
process.exitCode = code;
