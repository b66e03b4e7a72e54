import { z } from 'zod';
import { ConversationId, TurnId } from './agentEntities.js';

/**
 * A stage of a turn began or ended. `t` is milliseconds since the turn's origin: when the question was received,
 * or for a voice turn the end of the user's speech. Stage names: the prepare steps (`queue`, `provider`, `history`,
 * `cache`, and any retrieval or input-check step by its own name), `generate`, `model-queue` (inside `generate`: waiting
 * while the model answers other questions), `first-token`, `first-sentence`, and for voice turns `stt` and `tts` (until
 * the first audio).
 */
export const StageEvent = z.object({
  type: z.literal('stage'),
  turnId: TurnId,
  name: z.string().min(1).max(100),
  phase: z.enum(['start', 'end']),
  t: z.number().nonnegative(),
});
export type StageEvent = z.infer<typeof StageEvent>;

/** One sentence of the answer, sent once it has passed the output checks; `index` counts from 0 per turn. */
export const AnswerSentenceEvent = z.object({
  type: z.literal('answer-sentence'),
  turnId: TurnId,
  conversationId: ConversationId,
  index: z.number().int().nonnegative(),
  text: z.string(),
});
export type AnswerSentenceEvent = z.infer<typeof AnswerSentenceEvent>;

/** Percentiles of one stage's duration in milliseconds. */
export const StageStats = z.object({
  name: z.string(),
  count: z.number().int().nonnegative(),
  p50: z.number().nullable(),
  p90: z.number().nullable(),
  p95: z.number().nullable(),
  p99: z.number().nullable(),
});
export type StageStats = z.infer<typeof StageStats>;

/** Per-stage percentiles over every stored turn and over the last `recentTurns` turns. */
export const TurnStats = z.object({
  type: z.literal('stats'),
  stages: z.array(StageStats),
  recentTurns: z.number().int().positive(),
  recent: z.array(StageStats),
});
export type TurnStats = z.infer<typeof TurnStats>;

/** One stage of one turn as stored, in ms since the turn's origin: the waterfall of a turn. */
export const StageSpan = z.object({ name: z.string(), startMs: z.number(), endMs: z.number() });
export type StageSpan = z.infer<typeof StageSpan>;
