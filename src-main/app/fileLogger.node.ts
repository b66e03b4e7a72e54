import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import type { AgentLogger } from '../agent/agentLogger.js';
import { LOG_LEVELS } from '../agent/agentSettings.node.js';

export interface FileLoggerOptions {
  dataDir: string;
  /** `debug` also logs question and answer text; anything else never does. Default: ASSISTANT_LOG_LEVEL or info. */
  level?: string;
  /** Rotate when a file reaches this size (pino-roll units: k, m, g). */
  size?: string;
  /** Rotated files kept. */
  keep?: number;
}


/**
 * JSON-lines logs in `<data dir>/logs/`, rotated by size (pino + pino-roll, written from pino's worker thread so
 * logging never blocks a turn). Every line about a turn carries its `turnId`.
 */
export function createFileLogger(options: FileLoggerOptions): { logger: AgentLogger; logDir: string; close(): Promise<void> } {
  const logDir = path.join(path.resolve(options.dataDir), 'logs');
  const level = options.level ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new Error(`The log level must be one of ${LOG_LEVELS.join(', ')}; got "${level}".`);
  }
  // Logs hold questions and answers: only the user may read them (a 0700 folder, 0600 files; sonic-boom's `mode`).
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  chmodSync(logDir, 0o700);
  const transport = pino.transport({
    target: 'pino-roll',
    options: {
      file: path.join(logDir, 'assistant'),
      extension: '.log',
      size: options.size ?? '5m',
      limit: { count: options.keep ?? 5 },
      mkdir: true,
      mode: 0o600,
    },
  });
  const pinoLogger: Logger = pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, transport);
  // The log transport's worker is gone once closed: a late line (a turn ending during shutdown) is dropped, not thrown.
  let closed = false;
  const guarded = (write: (fields: object, message: string) => void) => (fields: object, message: string) => {
    if (!closed) write(fields, message);
  };
  const logger: AgentLogger = {
    debug: guarded((fields, message) => pinoLogger.debug(fields, message)),
    info: guarded((fields, message) => pinoLogger.info(fields, message)),
    warn: guarded((fields, message) => pinoLogger.warn(fields, message)),
    error: guarded((fields, message) => pinoLogger.error(fields, message)),
  };
  let closing: Promise<void> | undefined;
  return {
    logger,
    logDir,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        closed = true;
        // pino's transport (thread-stream) says 'finish' once the worker has written everything.
        const fallback = setTimeout(resolve, 2_000);
        fallback.unref();
        transport.once('finish', () => {
          clearTimeout(fallback);
          resolve();
        });
        pinoLogger.flush(() => transport.end());
      })),
  };
}

/**
 * A logger that keeps what is logged until its destination is known, then passes it on. The log folder is only
 * created once the data folder and database have opened, so a damaged profile gets nothing new written into it.
 */
export function createDeferredLogger(maxBuffered = 200): { logger: AgentLogger; attach(target: AgentLogger): void } {
  let target: AgentLogger | undefined;
  const buffered: Array<[keyof AgentLogger, object, string]> = [];
  const write = (level: keyof AgentLogger) => (fields: object, message: string) => {
    if (target) target[level](fields, message);
    else if (buffered.length < maxBuffered) buffered.push([level, fields, message]);
  };
  return {
    logger: { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') },
    attach(destination) {
      target = destination;
      for (const [level, fields, message] of buffered.splice(0)) destination[level](fields, message);
    },
  };
}

/** JSON lines on stderr, for when there is no usable data folder to keep log files in (a host in recovery mode). */
export function createStderrLogger(level: string = 'info'): AgentLogger {
  const pinoLogger: Logger = pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 2, sync: true }));
  return {
    debug: (fields, message) => pinoLogger.debug(fields, message),
    info: (fields, message) => pinoLogger.info(fields, message),
    warn: (fields, message) => pinoLogger.warn(fields, message),
    error: (fields, message) => pinoLogger.error(fields, message),
  };
}
