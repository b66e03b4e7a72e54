import path from 'node:path';
import {
  AgentCommand,
  AgentError,
  assertCommandName,
  parseCommandArgs,
  toErrorShape,
  type AgentErrorShape,
  type AgentEvent,
  type CommandName,
  type CommandResult,
  type DataStatus,
} from '../../src-shared/contract/index.js';
import { resolveAgentConfig, type AgentConfig } from '../agent/agentConfig.node.js';
import type { AgentService } from '../agent/agentService.js';
import { createAgent, type Agent, type CreateAgentOptions } from './createAgent.node.js';
import { databasePathOf, moveDatabaseAside } from '../agent/memory/dataDirectory.node.js';
import type { AgentLogger } from '../agent/agentLogger.js';
import { audit } from '../agent/audit.js';
import { createStderrLogger } from './fileLogger.node.js';
import type { StageMetrics } from './stageMetrics.node.js';

export type RecoverableAgent = AgentService & {
  readonly config: AgentConfig;
  /** Why the agent is not running (recovery mode), or undefined once it runs. */
  readonly problem: AgentErrorShape | undefined;
  /** The running agent's metrics; undefined in recovery mode. */
  readonly metrics: StageMetrics | undefined;
  /** The running agent's log; in recovery mode (no usable data folder for log files) JSON lines on stderr. */
  readonly logger: AgentLogger;
  sendMicFrame(pcm: Int16Array): void;
};

/** The startup failures a host can survive by serving the UI in recovery mode; anything else is a bug and is thrown. */
const RECOVERABLE_CODES = new Set(['DATABASE_CORRUPT', 'DATA_DIR_UNUSABLE', 'DATABASE_KEY_INVALID']);

/**
 * The agent for hosts with a UI (headless host, Electron): when the data folder or the database cannot be opened, it
 * does not throw but starts in recovery mode, so the UI can still show the problem (with the path) and, for a damaged
 * database, a button that calls `data:reset-database`: the database is moved aside (never deleted) and the real agent
 * starts on a fresh one. In recovery mode `data:status` and `agent:status` answer, `conversations:list` is empty and
 * every other command fails with the problem.
 */
export function createRecoverableAgent(options: CreateAgentOptions = {}): RecoverableAgent {
  const config = resolveAgentConfig(options.config);
  const listeners = new Set<(event: AgentEvent) => void>();
  const emit = (event: AgentEvent) => {
    for (const listener of listeners) listener(event);
  };
  let agent: Agent | undefined;
  let problem: AgentErrorShape | undefined;
  let movedAsideTo: string | undefined;
  let closed = false;
  let resetting: Promise<{ movedTo: string }> | undefined;

  const start = () => {
    try {
      agent = createAgent(options);
      agent.listen(emit);
      problem = undefined;
    } catch (error) {
      if (!(error instanceof AgentError) || !RECOVERABLE_CODES.has(error.code)) throw error;
      problem = toErrorShape(error);
    }
  };
  start();
  let stderrLogger: AgentLogger | undefined;
  const currentLogger = (): AgentLogger => agent?.logger ?? (stderrLogger ??= createStderrLogger(config.logLevel));

  const dataStatus = (): DataStatus => ({
    state:
      problem === undefined ? 'ok' : problem.code === 'DATABASE_CORRUPT' ? 'corrupt' : problem.code === 'DATABASE_KEY_INVALID' ? 'locked' : 'unusable',
    dataDir: path.resolve(config.dataDir),
    databasePath: databasePathOf(config.dataDir),
    ...(problem && { problem }),
    ...(movedAsideTo !== undefined && { movedAsideTo }),
  });

  async function reset(): Promise<{ movedTo: string }> {
    if (agent) throw new AgentError('NOT_FOUND', `The database ${databasePathOf(config.dataDir)} is healthy and in use; there is nothing to reset.`);
    if (problem?.code !== 'DATABASE_CORRUPT') throw new AgentError(problem?.code ?? 'INTERNAL', problem?.message ?? 'The agent is not running.');
    const { movedTo, files } = moveDatabaseAside(config.dataDir);
    movedAsideTo = movedTo;
    start();
    // Into the new agent's log file when it started (the damaged profile had none), else stderr.
    audit(currentLogger(), 'database-moved-aside', { from: databasePathOf(config.dataDir), to: movedTo, files: files.length, by: 'data:reset-database' });
    if (problem) throw new AgentError(problem.code, problem.message);
    // Clients loaded their state from recovery mode: tell them to load it again.
    emit({ type: 'status', status: await agent!.call(AgentCommand.agentStatus) });
    emit({ type: 'conversations-changed' });
    return { movedTo };
  }

  async function handleInRecovery<C extends CommandName>(command: C, rawArgs: unknown): Promise<CommandResult<C>> {
    const name = assertCommandName(command);
    parseCommandArgs(name, rawArgs);
    const current = problem!;
    switch (name) {
      case AgentCommand.agentStatus:
        return {
          llm: { state: 'error', provider: null, model: null, message: 'Not started: the assistant cannot open its data.' },
        } as CommandResult<C>;
      case AgentCommand.conversationsList:
        return [] as CommandResult<C>;
      default:
        throw new AgentError(current.code, current.message);
    }
  }

  return {
    config,
    get problem() {
      return problem;
    },
    get metrics() {
      return agent?.metrics;
    },
    logger: {
      debug: (fields, message) => currentLogger().debug(fields, message),
      info: (fields, message) => currentLogger().info(fields, message),
      warn: (fields, message) => currentLogger().warn(fields, message),
      error: (fields, message) => currentLogger().error(fields, message),
    },
    async call(command, args, signal, context) {
      if (closed) throw new AgentError('INTERNAL', 'The agent has shut down.');
      if (command === AgentCommand.dataStatus) {
        const status = agent ? await agent.call(AgentCommand.dataStatus) : dataStatus();
        return { ...status, ...(movedAsideTo !== undefined && { movedAsideTo }) } as CommandResult<typeof command>;
      }
      if (command === AgentCommand.dataResetDatabase) {
        parseCommandArgs(AgentCommand.dataResetDatabase, args);
        resetting ??= reset().finally(() => (resetting = undefined));
        return (await resetting) as CommandResult<typeof command>;
      }
      if (agent) return agent.call(command, args, signal, context);
      return handleInRecovery(command, args);
    },
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    sendMicFrame(pcm) {
      agent?.sendMicFrame(pcm);
    },
    whenReady: () => agent?.whenReady() ?? Promise.resolve(),
    async close() {
      if (closed) return;
      closed = true;
      // Its failure went to the caller of data:reset-database; closing only waits for it to end.
      await resetting?.catch(() => undefined);
      await agent?.close();
      listeners.clear();
    },
  };
}
