import {
  AgentError,
  ClientFrame,
  assertCommandName,
  parseCommandArgs,
  toErrorShape,
  type AgentErrorShape,
  type CommandArgs,
  type CommandName,
  type ServerFrame,
} from '../../src-shared/contract/index.js';
import type { AgentService } from '../agent/agentService.js';

/** Failure replies about a frame whose call id could not be read carry this id. */
export const UNKNOWN_CALL_ID = -1;

/** What a call frame is answered with: the result, or the contract's plain `{code, message}` error. */
export type CallReply = Extract<ServerFrame, { kind: 'result' | 'failure' }>;

/** One client of the agent: a WebSocket connection of the headless host, or an Electron window. */
export interface RouterClient {
  /**
   * Handles one frame from the client, validated here: a `call` resolves with its reply, a `cancel` aborts that call
   * and resolves with undefined. Never rejects: every failure becomes a failure reply.
   */
  receive(frame: unknown): Promise<CallReply | undefined>;
  /** The client went away: abort every call it still has running. */
  disconnect(): void;
  /** Calls still running, for tests and diagnostics. */
  readonly inFlight: number;
}

export interface CommandRouter {
  connect(): RouterClient;
}

/**
 * The one command router behind both hosts (the headless host's WebSocket frames and Electron's IPC): it validates the
 * wire frame and the command's arguments at the boundary, calls the agent with an AbortSignal per call, tracks each
 * client's calls by id so a `cancel` frame or the client going away aborts them, and turns failures into plain
 * `{code, message}` objects (never stacks or class instances).
 */
export function createCommandRouter(agent: AgentService): CommandRouter {
  return {
    connect() {
      const running = new Map<number, AbortController>();
      let connected = true;
      const failure = (id: number, error: AgentErrorShape): CallReply => ({ kind: 'failure', id, error });

      return {
        get inFlight() {
          return running.size;
        },
        async receive(raw) {
          const parsed = ClientFrame.safeParse(raw);
          if (!parsed.success) {
            const issue = parsed.error.issues[0];
            const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
            return failure(callIdOf(raw), { code: 'INVALID_MESSAGE', message: `Invalid frame${where}: ${issue?.message ?? 'malformed'}` });
          }
          const frame = parsed.data;
          if (frame.kind === 'cancel') {
            running.get(frame.id)?.abort();
            return undefined;
          }
          if (!connected) return failure(frame.id, { code: 'CANCELLED', message: `${frame.command} arrived after the client went away.` });
          if (running.has(frame.id)) {
            return failure(frame.id, { code: 'INVALID_MESSAGE', message: `Call id ${frame.id} is already in use by a running call.` });
          }
          const controller = new AbortController();
          running.set(frame.id, controller);
          try {
            return { kind: 'result', id: frame.id, value: await callAgent(agent, frame.command, frame.args, controller.signal) };
          } catch (error) {
            // An agent that stops on abort may throw anything; the caller only needs to know it was cancelled.
            const cancelled = controller.signal.aborted && !(error instanceof AgentError);
            return failure(frame.id, cancelled ? { code: 'CANCELLED', message: `${frame.command} was cancelled.` } : toErrorShape(error));
          } finally {
            running.delete(frame.id);
          }
        },
        disconnect() {
          connected = false;
          for (const controller of running.values()) controller.abort();
          running.clear();
        },
      };
    },
  };
}

/** Validates here, at the boundary, before anything reaches the agent (which validates again). */
function callAgent(agent: AgentService, commandName: string, args: unknown, signal: AbortSignal): Promise<unknown> {
  const command = assertCommandName(commandName);
  return callCommand(agent, command, args, signal);
}

function callCommand<C extends CommandName>(agent: AgentService, command: C, args: unknown, signal: AbortSignal) {
  // The argument schemas only check and trim, so parsed arguments are valid input; TypeScript cannot see that for a generic C.
  return agent.call(command, parseCommandArgs(command, args) as CommandArgs<C>, signal);
}

function callIdOf(raw: unknown): number {
  if (typeof raw === 'object' && raw !== null && 'id' in raw && Number.isInteger(raw.id)) return raw.id as number;
  return UNKNOWN_CALL_ID;
}
