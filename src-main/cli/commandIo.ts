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
