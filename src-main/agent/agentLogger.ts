/**
 * The structured logger the agent writes to: pino's call shape (`logger.warn({turnId, ...}, 'message')`), so the
 * composition root can pass a pino logger. Question and answer text are never put in these fields.
 */
export interface AgentLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** For tests and tools that do not keep logs. */
export const silentLogger: AgentLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
