import { z } from 'zod';
import { AgentErrorShape } from './agentErrors.js';

/**
 * Whether the agent could open its data folder and database. `corrupt`: the SQLite file is damaged and the agent runs
 * in recovery mode (only `data:status` and `data:reset-database` work); `unusable`: the folder itself cannot be used,
 * which only the user can fix (another --data-dir / ASSISTANT_DATA_DIR); `locked`: the database is encrypted and its
 * key is missing or wrong (recovery mode too, but nothing is offered to be moved: the right key opens it).
 */
export const DataState = z.enum(['ok', 'corrupt', 'unusable', 'locked']);
export type DataState = z.infer<typeof DataState>;

export const DataStatus = z.object({
  state: DataState,
  dataDir: z.string(),
  databasePath: z.string(),
  /** Why the agent could not start, with the path and the fix. Absent when `state` is `ok`. */
  problem: AgentErrorShape.optional(),
  /** Where a damaged database was moved by `data:reset-database` in this session. */
  movedAsideTo: z.string().optional(),
});
export type DataStatus = z.infer<typeof DataStatus>;

export const dataCommandSchemas = {
  'data:status': {
    args: z.object({}).optional(),
    result: DataStatus,
  },
  /** Moves a damaged database (and its -wal/-shm files) aside, never deleting it, then starts the agent on a fresh one. */
  'data:reset-database': {
    args: z.object({}).optional(),
    result: z.object({ movedTo: z.string() }),
  },
} as const;
