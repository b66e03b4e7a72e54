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
