import type { AgentLogger } from './agentLogger.js';

/** The security events the log keeps as entries of their own. */
export type AuditEvent =
  | 'origin-refused'
  | 'token-refused'
  | 'rate-limited'
  | 'turn-blocked'
  | 'database-moved-aside'
  /** A plaintext database was encrypted (once, when encryption was turned on). */
  | 'database-encrypted'
  /** The Electron window refused a navigation, a new window, a permission or an IPC message from a frame not the app page. */
  | 'electron-refused';

/**
 * What an audit entry may carry: names, codes, counts, paths. Only flat values, so a question, an answer or a
 * token cannot ride along inside an object; callers never pass user text or secrets.
 */
export type AuditFields = Readonly<Record<string, string | number | boolean | undefined>>;

/**
 * Writes one security event to the structured log as its own entry, `{"audit": "<event>", ...fields}`, at warn
 * level: `jq 'select(.audit)'` lists them all. The guards' own entries (`guard-flag`, `guard-error`) use the same
 * field.
 */
export function audit(logger: AgentLogger, event: AuditEvent, fields: AuditFields = {}): void {
  logger.warn({ ...fields, audit: event }, `audit: ${event}`);
}

/**
 * Audit entries for events that come in floods (a client over its rate limit, a script trying tokens): the first of
 * a series is written at once; repeats within `intervalMs` are counted and written as one entry with `repeats: n` when
 * the interval ends, and the series stays open while repeats keep coming. Every event is accounted for, at about one
 * line a second per series instead of one per event, so a flood cannot rotate the older entries out of the log.
 */
export class RepeatedAudit {
  private readonly series = new Map<string, { event: AuditEvent; fields: AuditFields; repeats: number; timer: ReturnType<typeof setTimeout> }>();

  constructor(
    private readonly logger: AgentLogger,
    private readonly intervalMs = 1_000,
  ) {}

  /** One event; `series` names what repeats (e.g. a client and the limit it hit), `fields` are the latest details. */
  record(event: AuditEvent, series: string, fields: AuditFields): void {
    const key = `${event}\u0000${series}`;
    const open = this.series.get(key);
    if (open) {
      open.repeats++;
      open.fields = fields;
      return;
    }
    audit(this.logger, event, fields);
    this.series.set(key, { event, fields, repeats: 0, timer: this.schedule(key) });
  }

  /** Writes the repeats still counted (a client going away, the host closing) and ends every series. */
  flush(): void {
    for (const key of [...this.series.keys()]) this.end(key);
  }

  private schedule(key: string): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => {
      const open = this.series.get(key);
      if (!open) return;
      if (open.repeats === 0) {
        this.series.delete(key);
        return;
      }
      audit(this.logger, open.event, { ...open.fields, repeats: open.repeats });
      open.repeats = 0;
      open.timer = this.schedule(key);
    }, this.intervalMs);
    // A pending summary never keeps the process alive; flush() writes it at shutdown.
    timer.unref?.();
    return timer;
  }

  private end(key: string): void {
    const open = this.series.get(key);
    if (!open) return;
    clearTimeout(open.timer);
    this.series.delete(key);
    if (open.repeats > 0) audit(this.logger, open.event, { ...open.fields, repeats: open.repeats });
  }
}
