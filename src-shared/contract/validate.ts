import type { z } from 'zod';
import { AgentError } from './agentErrors.js';
import { commandSchemas, isCommandName, type CommandName, type CommandResult } from './agentCommands.js';

/** Parse untrusted input; a failure becomes a clear INVALID_MESSAGE error naming what was wrong. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new AgentError('INVALID_MESSAGE', `Invalid ${what}${where}: ${issue?.message ?? 'malformed'}`);
  }
  return parsed.data;
}

export type ParsedCommandArgs<C extends CommandName> = z.output<(typeof commandSchemas)[C]['args']>;

export function parseCommandArgs<C extends CommandName>(command: C, args: unknown): ParsedCommandArgs<C> {
  return parseOrThrow(commandSchemas[command].args, args, `arguments for ${command}`) as ParsedCommandArgs<C>;
}

export function parseCommandResult<C extends CommandName>(command: C, value: unknown): CommandResult<C> {
  return parseOrThrow(commandSchemas[command].result, value, `result of ${command}`) as CommandResult<C>;
}

export function assertCommandName(name: string): CommandName {
  if (!isCommandName(name)) throw new AgentError('UNKNOWN_COMMAND', `Unknown command: ${name}`);
  return name;
}
