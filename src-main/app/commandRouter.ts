import {
  AgentCommand,
  AgentError,
  ClientFrame,
  assertCommandName,
  isCommandName,
  parseCommandArgs,
  toErrorShape,
  type AgentErrorShape,
  type AgentEvent,
  type CommandArgs,
  type CommandName,
  type CommandResult,
  type ServerFrame,
} from '../../src-shared/contract/index.js';
import { silentLogger, type AgentLogger } from '../agent/agentLogger.js';
import type { AgentService, CallContext } from '../agent/agentService.js';
import { RepeatedAudit } from '../agent/audit.js';
import { TokenBucket } from './tokenBucket.js';

/** Failure replies about a frame whose call id could not be read carry this id. */
export const UNKNOWN_CALL_ID = -1;

/** What a call frame is answered with: the result, or the contract's plain `{code, message}` error. */
export type CallReply = Extract<ServerFrame, { kind: 'result' | 'failure' }>;

/** One client of the agent: a WebSocket connection of the headless host, or an Electron window. */
export interface RouterClient {
  /** Names the client in the logs, and as the caller whose questions take turns with other clients'. */
  readonly id: string;
  /**
   * Handles one frame from the client, validated here: a `call` resolves with its reply, a `cancel` aborts that call
   * and resolves with undefined. Never rejects: every failure becomes a failure reply.
   */
  receive(frame: unknown): Promise<CallReply | undefined>;
  /** The client went away: abort every call it still has running, and cancel its questions not yet answered. */
  disconnect(): void;
  /** Calls still running, for tests and diagnostics. */
  readonly inFlight: number;
  /** Questions asked by this client that have not ended yet (waiting or being answered). */
  readonly openTurns: number;
}

export interface CommandRouter {
  connect(): RouterClient;
  /** Writes the rate-limit audit entries still being counted (the host is closing). */
  close(): void;
}

/** What one client may ask of the agent. */
export interface RouterLimits {
  /** Calls a client may make at once (the token bucket's size). */
  burstCalls: number;
  /** Calls a second a client may keep making (the bucket's refill rate). */
  callsPerSecond: number;
  /** A client's questions (`chat:send`) that may be unfinished at once: waiting for the model or being answered. */
  openTurns: number;
  /**
   * The retry hint sent with a question refused for `openTurns`: when one of the client's questions will end is not
   * known ahead (its `done` event says so), so this is about one short answer's time.
   */
  openTurnsRetryAfterMs: number;
}

/**
 * 20 calls at once covers the app's start (about ten calls together: status, conversations, settings, voice, models,
 * documents, stats) with room for a reload; 10 a second is far above what a person clicking and typing sends, while a
 * script gets its flood refused. Four open questions are more than the UI ever has (it waits for each answer, a voice
 * turn barges in on the last one): they bound how long one client can keep the model from the others.
 */
export const DEFAULT_ROUTER_LIMITS: RouterLimits = { burstCalls: 20, callsPerSecond: 10, openTurns: 4, openTurnsRetryAfterMs: 1_000 };

export interface CommandRouterOptions {
  limits?: Partial<RouterLimits>;
  /** Where rate limits are audited; default: the agent's own logger, if it has one. */
  logger?: AgentLogger;
  /** The token buckets' clock (tests). */
  now?: () => number;
}

/**
 * The one command router behind both hosts (the headless host's WebSocket frames and Electron's IPC): it validates the
 * wire frame and the command's arguments at the boundary, holds each client to its limits (a token bucket on calls, a
 * cap on open questions), calls the agent with an AbortSignal per call and the client as the caller, tracks each
 * client's calls by id so a `cancel` frame or the client going away aborts them (and cancels the questions it asked),
 * and turns failures into plain `{code, message}` objects (never stacks or class instances).
 */
export function createCommandRouter(agent: AgentService & { readonly logger?: AgentLogger | undefined }, options: CommandRouterOptions = {}): CommandRouter {
  const limits: RouterLimits = { ...DEFAULT_ROUTER_LIMITS, ...options.limits };
  const auditor = new RepeatedAudit(options.logger ?? agent.logger ?? silentLogger);
  let connections = 0;

  return {
    close: () => auditor.flush(),
    connect() {
      const id = `client-${++connections}`;
      const context: CallContext = { caller: id };
      const bucket = new TokenBucket(limits.burstCalls, limits.callsPerSecond, options.now);
      const running = new Map<number, AbortController>();
      /**
       * The questions this client asked that have not ended, by turn id, with the AbortController of the `chat:send`
       * that started each: aborting it cancels the turn (the agent's contract), so they are kept until the turn ends.
       */
      const turns = new Map<string, AbortController>();
      let asking = 0;
      let connected = true;
      const failure = (callId: number, error: AgentErrorShape): CallReply => ({ kind: 'failure', id: callId, error });
      const limited = (callId: number, limit: 'calls' | 'open-turns', command: string, retryAfterMs: number, message: string): CallReply => {
        auditor.record('rate-limited', `${id} ${limit}`, { client: id, limit, command, retryAfterMs });
        return failure(callId, { code: 'RATE_LIMITED', message, retryAfterMs });
      };
      // A turn ends with exactly one of these events; the agent sends the turn id to the caller before any of them.
      const unlisten = agent.listen((event) => {
        const ended = endedTurnId(event);
        if (ended !== undefined) turns.delete(ended);
      });

      return {
        id,
        get inFlight() {
          return running.size;
        },
        get openTurns() {
          return turns.size + asking;
        },
        async receive(raw) {
          const parsed = ClientFrame.safeParse(raw);
          const frame = parsed.success ? parsed.data : undefined;
          // Cancel frames are free: stopping work must always be possible, and they are answered with nothing.
          if (frame?.kind === 'cancel') {
            running.get(frame.id)?.abort();
            return undefined;
          }
          const callId = frame?.id ?? callIdOf(raw);
          // Named in replies and the audit log only when it is a command: the client chose this string.
          const command = frame === undefined ? 'an invalid frame' : isCommandName(frame.command) ? frame.command : 'an unknown command';
          if (!connected) return failure(callId, { code: 'CANCELLED', message: `${command} arrived after the client went away.` });
          // Every call costs a token, a malformed one too: validating a flood costs as much as serving it.
          const waitMs = bucket.take();
          if (waitMs > 0) {
            return limited(
              callId,
              'calls',
              command,
              waitMs,
              `Too many requests: ${command} was not run (one window or connection may make ${limits.burstCalls} at once, then ${limits.callsPerSecond} a second). Try again in ${seconds(waitMs)}.`,
            );
          }
          if (!frame) {
            const issue = parsed.error?.issues[0];
            const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
            return failure(callId, { code: 'INVALID_MESSAGE', message: `Invalid frame${where}: ${issue?.message ?? 'malformed'}` });
          }
          if (running.has(frame.id)) {
            return failure(frame.id, { code: 'INVALID_MESSAGE', message: `Call id ${frame.id} is already in use by a running call.` });
          }
          const asks = frame.command === AgentCommand.chatSend;
          if (asks && turns.size + asking >= limits.openTurns) {
            return limited(
              frame.id,
              'open-turns',
              frame.command,
              limits.openTurnsRetryAfterMs,
              `${limits.openTurns} of your questions are still being answered, so this one was not taken. Ask again when one of them is done (in about ${seconds(limits.openTurnsRetryAfterMs)}).`,
            );
          }
          const controller = new AbortController();
          running.set(frame.id, controller);
          if (asks) asking++;
          try {
            const value = await callAgent(agent, frame.command, frame.args, controller.signal, context);
            if (asks && !controller.signal.aborted) turns.set((value as CommandResult<typeof AgentCommand.chatSend>).turnId, controller);
            return { kind: 'result', id: frame.id, value };
          } catch (error) {
            // An agent that stops on abort may throw anything; the caller only needs to know it was cancelled.
            const cancelled = controller.signal.aborted && !(error instanceof AgentError);
            return failure(frame.id, cancelled ? { code: 'CANCELLED', message: `${frame.command} was cancelled.` } : toErrorShape(error));
          } finally {
            running.delete(frame.id);
            if (asks) asking--;
          }
        },
        disconnect() {
          if (!connected) return;
          connected = false;
          unlisten();
          // Nobody is left to see these answers: running calls stop, and questions waiting or being answered are
          // cancelled (what was generated is kept, marked interrupted).
          for (const controller of [...running.values(), ...turns.values()]) controller.abort();
          running.clear();
          turns.clear();
        },
      };
    },
  };
}

/** The turn a `done`, `blocked` or turn `error` event ends. */
function endedTurnId(event: AgentEvent): string | undefined {
  if (event.type === 'done' || event.type === 'blocked') return event.turnId;
  if (event.type === 'error') return event.turnId;
  return undefined;
}

/** "0.1 s", "1 s", "2.5 s": a wait as a person reads it (never "0 s"). */
function seconds(ms: number): string {
  return `${(Math.max(ms, 100) / 1000).toLocaleString('en', { maximumFractionDigits: 1 })} s`;
}

/** Validates here, at the boundary, before anything reaches the agent (which validates again). */
function callAgent(agent: AgentService, commandName: string, args: unknown, signal: AbortSignal, context: CallContext): Promise<unknown> {
  const command = assertCommandName(commandName);
  return callCommand(agent, command, args, signal, context);
}

function callCommand<C extends CommandName>(agent: AgentService, command: C, args: unknown, signal: AbortSignal, context: CallContext) {
  // The argument schemas only check and trim, so parsed arguments are valid input; TypeScript cannot see that for a generic C.
  return agent.call(command, parseCommandArgs(command, args) as CommandArgs<C>, signal, context);
}

function callIdOf(raw: unknown): number {
  if (typeof raw === 'object' && raw !== null && 'id' in raw && Number.isInteger(raw.id)) return raw.id as number;
  return UNKNOWN_CALL_ID;
}
