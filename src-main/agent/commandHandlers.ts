import {
  AgentError,
  assertCommandName,
  parseCommandArgs,
  type CommandArgs,
  type CommandName,
  type CommandResult,
} from '../../src-shared/contract/index.js';
import type { CallContext } from './agentService.js';

/** One handler per command, given already-validated arguments and who is calling. */
export type CommandHandlers = {
  [C in CommandName]?: (args: CommandArgs<C>, context: CallContext) => CommandResult<C> | Promise<CommandResult<C>>;
};

/**
 * The one place commands are dispatched: the name is checked, the arguments validated against the contract, then
 * the handler runs. The agent core and the features (voice, documents) each contribute handlers; the app joins them.
 */
export function dispatchCommand(handlers: CommandHandlers, command: string, rawArgs: unknown, context: CallContext = {}): Promise<unknown> {
  try {
    const name = assertCommandName(command);
    const args = parseCommandArgs(name, rawArgs);
    const handler = handlers[name] as ((args: unknown, context: CallContext) => unknown) | undefined;
    if (!handler) throw new AgentError('UNKNOWN_COMMAND', `The command ${name} is not available here.`);
    return Promise.resolve(handler(args, context));
  } catch (error) {
    return Promise.reject(error);
  }
}
