/** Where a CLI command writes. Real process streams in the CLI; string buffers in tests. */
export interface CommandOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface CommandIo {
  stdout: CommandOutput;
  stderr: CommandOutput;
}

/** The NDJSON line of one event, as `--json` prints it. */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

/** Prints an error the way every command does: one NDJSON `error` line with `--json`, else one line on stderr. */
export function writeCommandError(io: CommandIo, json: boolean, error: { code: string; message: string }): void {
  if (json) io.stdout.write(jsonLine({ type: 'error', code: error.code, message: error.message }));
  else io.stderr.write(`Error (${error.code}): ${error.message}\n`);
}

/** Whether the command line asks for NDJSON output: `--json` anywhere, even next to a bad flag. */
export function jsonRequested(args: readonly string[]): boolean {
  return args.includes('--json');
}

/**
 * A usage error (a bad flag, a missing argument): the message and the usage on stderr, exit code 2. With `--json`,
 * the message is also one NDJSON `error` line (code USAGE) on stdout.
 */
export function writeUsageError(io: CommandIo, args: readonly string[], message: string, usage = ''): 2 {
  if (jsonRequested(args)) io.stdout.write(jsonLine({ type: 'error', code: 'USAGE', message }));
  io.stderr.write(`${message}\n${usage ? `\n${usage}` : ''}`);
  return 2;
}

/** A bad env var or flag value (an InvalidSettingError): its message, or one NDJSON `error` line with `--json`; exit code 2. */
export function writeSettingError(io: CommandIo, args: readonly string[], error: unknown): 2 {
  const message = error instanceof Error ? error.message : String(error);
  if (jsonRequested(args)) io.stdout.write(jsonLine({ type: 'error', code: 'INVALID_SETTING', message }));
  else io.stderr.write(`${message}\n`);
  return 2;
}
