import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The CLI as a user runs it. */
export const cli = path.join(root, 'bin/assistant.js');

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

export interface ProcessRun extends CliResult {
  /** The deadline passed and the process was killed. */
  timedOut: boolean;
}

/**
 * Runs a Node script as a child process to its end, killed (SIGKILL, its whole process group with `group`) at
 * `deadlineMs`. `until` ends it early (SIGTERM) once stdout shows what the test waits for.
 */
export function runNodeScript(
  script: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; deadlineMs: number; until?: (stdout: string) => boolean; group?: boolean; cwd?: string },
): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
      ...(options.group && { detached: true }),
      ...(options.cwd !== undefined && { cwd: options.cwd }),
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let stopping = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      if (options.group) process.kill(-child.pid!, 'SIGKILL');
      else child.kill('SIGKILL');
    }, options.deadlineMs);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!stopping && options.until?.(stdout)) {
        stopping = true;
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    // 'close', not 'exit': by then stdout and stderr have been read to their end.
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      resolve({ code, signal, stdout, stderr, events: jsonLines(stdout), timedOut });
    });
  });
}

/** Runs `assistant <args>` as a child process to its end; rejects when it outlives `deadlineMs` (it is killed). */
export async function runAssistantCli(args: string[], options: { env?: NodeJS.ProcessEnv; deadlineMs: number }): Promise<CliResult> {
  const run = await runNodeScript(cli, args, options);
  if (run.timedOut) throw new Error(`assistant ${args.join(' ')} did not exit within ${options.deadlineMs} ms. stderr: ${run.stderr}`);
  return run;
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
