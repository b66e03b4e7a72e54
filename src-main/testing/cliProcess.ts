import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'bin/assistant.js');

/** Whether `npm run build` has built the CLI that bin/assistant.js runs. */
export const cliBuilt = existsSync(path.join(root, 'build/src-main/cli/assistantCli.node.js'));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout's lines parsed as JSON (for --json); lines that are not JSON are left out. */
  events: Array<Record<string, unknown>>;
}

/** Runs `assistant <args>` as a child process to its end; kills it and rejects when it outlives `deadlineMs`. */
export function runAssistantCli(args: string[], options: { env?: NodeJS.ProcessEnv; deadlineMs: number }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`assistant ${args.join(' ')} did not exit within ${options.deadlineMs} ms. stderr: ${stderr}`));
    }, options.deadlineMs);
    child.on('error', (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    // 'close', not 'exit': by then stdout and stderr have been read to their end.
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      resolve({ code, signal, stdout, stderr, events: jsonLines(stdout) });
    });
  });
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text.split('\n').flatMap((line) => {
    if (!line.trim().startsWith('{')) return [];
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}
