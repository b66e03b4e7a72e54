import path from 'node:path';
import pino, { type Logger } from 'pino';

export interface FileLoggerOptions {
  dataDir: string;
  /** `debug` also logs question and answer text; anything else never does. Default: ASSISTANT_LOG_LEVEL or info. */
  level?: string;
  /** Rotate when a file reaches this size (pino-roll units: k, m, g). */
  size?: string;
  /** Rotated files kept. */
  keep?: number;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * JSON-lines logs in `<data dir>/logs/`, rotated by size (pino + pino-roll, written from pino's worker thread so
 * logging never blocks a turn). Every line about a turn carries its `turnId`.
 */
export function createFileLogger(options: FileLoggerOptions): { logger: Logger; logDir: string; close(): Promise<void> } {
  const logDir = path.join(path.resolve(options.dataDir), 'logs');
  const level = options.level ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new Error(`The log level must be one of ${LOG_LEVELS.join(', ')}; got "${level}".`);
  }
  const transport = pino.transport({
    target: 'pino-roll',
    options: { file: path.join(logDir, 'assistant'), extension: '.log', size: options.size ?? '5m', limit: { count: options.keep ?? 5 }, mkdir: true },
  });
  const logger = pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, transport);
  return {
    logger,
    logDir,
    close: () =>
      new Promise<void>((resolve) => {
        logger.flush(() => {
          transport.once('close', () => resolve());
          transport.end();
        });
      }),
  };
}
