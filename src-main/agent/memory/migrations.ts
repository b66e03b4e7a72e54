/**
 * Numbered schema migrations, applied in order inside one transaction each. Never edit a shipped migration:
 * add the next number. `PRAGMA user_version` records the last one applied.
 */
export const migrations: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'conversations, messages, turn timings, response cache',
    sql: `
      CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        turn_id TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        text TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('complete', 'interrupted', 'crashed', 'streaming')),
        created_at INTEGER NOT NULL
      );
      CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
      CREATE TABLE turn_timings (
        turn_id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        cached INTEGER NOT NULL,
        interrupted INTEGER NOT NULL,
        ttft_ms REAL,
        total_ms REAL NOT NULL,
        tokens INTEGER NOT NULL,
        timings_json TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE response_cache (
        key TEXT PRIMARY KEY,
        answer TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        last_used_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'stage timings of every turn, for percentiles and waterfalls',
    sql: `
      CREATE TABLE turn_stages (
        turn_id TEXT NOT NULL,
        name TEXT NOT NULL,
        start_ms REAL NOT NULL,
        end_ms REAL NOT NULL,
        recorded_at INTEGER NOT NULL,
        PRIMARY KEY (turn_id, name)
      );
      CREATE INDEX turn_stages_by_time ON turn_stages(recorded_at);
    `,
  },
  {
    version: 3,
    name: 'guard verdicts of every turn (kept for a blocked turn too: it is what the audit needs)',
    sql: `
      CREATE TABLE turn_verdicts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        turn_id TEXT NOT NULL,
        guard TEXT NOT NULL,
        subject TEXT NOT NULL,
        outcome TEXT NOT NULL,
        action TEXT,
        reason TEXT,
        ms REAL NOT NULL,
        recorded_at INTEGER NOT NULL
      );
      CREATE INDEX turn_verdicts_by_turn ON turn_verdicts(turn_id);
    `,
  },
];
