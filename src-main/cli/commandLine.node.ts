import { parseArgs, type ParseArgsConfig } from 'node:util';

type FlagOptions = NonNullable<ParseArgsConfig['options']>;
import { writeUsageError, type CommandIo } from './commandIo.js';

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/**
 * Parses a command's flags the same way for every command: a bad flag prints the message and the usage (exit 2),
 * `--help`/`-h` prints the usage (exit 0). Returns the parsed flags, or the exit code when the command is done.
 */
export function parseCommandLine<const T extends FlagOptions>(args: string[], options: T, usage: string, io: CommandIo, allowPositionals = true) {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals, strict: true, options: { ...options, ...HELP } });
  } catch (error) {
    return writeUsageError(io, args, error instanceof Error ? error.message : String(error), usage);
  }
  if ((parsed.values as { help?: boolean }).help) {
    io.stdout.write(usage);
    return 0;
  }
  return parsed;
}
