import { z } from 'zod';
import { ConversationId, TurnId } from './agentEntities.js';

export const GUARD_NAMES = ['injection', 'pii', 'abuse', 'length'] as const;
export const GuardName = z.enum(GUARD_NAMES);
export type GuardName = z.infer<typeof GuardName>;

/** What a flag does: refuse (the turn, the passage, the sentence), mask the flagged spans, or only note it. */
export const GuardActionSchema = z.enum(['block', 'redact', 'warn']);

/** One guard's settings: on or off, what a flag does, and whether a guard that breaks lets the text through. */
export const GuardSetting = z.object({
  enabled: z.boolean().optional(),
  action: GuardActionSchema.optional(),
  failOpen: z.boolean().optional(),
});
export type GuardSetting = z.infer<typeof GuardSetting>;
export const GuardSettings = z.partialRecord(GuardName, GuardSetting);
export type GuardSettings = z.infer<typeof GuardSettings>;

/**
 * A turn refused by a guard: the terminal event instead of done. No token was shown or spoken, nothing was stored or
 * cached; `reason` is one short plain sentence for the user.
 */
export const BlockedEvent = z.object({
  type: z.literal('blocked'),
  turnId: TurnId,
  conversationId: ConversationId,
  guard: z.string(),
  reason: z.string(),
});
export type BlockedEvent = z.infer<typeof BlockedEvent>;

/** One guard's verdict on one text of a turn (also stored with the turn). Never carries the flagged text itself. */
export const GuardVerdictEvent = z.object({
  type: z.literal('guard-verdict'),
  turnId: TurnId,
  conversationId: ConversationId,
  guard: z.string(),
  subject: z.enum(['question', 'passage', 'answer-sentence']),
  outcome: z.enum(['pass', 'flag', 'error']),
  /** What was done about a flag (or an error: block when the guard fails closed, warn when it fails open). */
  action: GuardActionSchema.optional(),
  reason: z.string().optional(),
  /** Which passage (its source) or sentence (its index) when the subject is not the question. */
  detail: z.string().optional(),
  ms: z.number().nonnegative(),
});
export type GuardVerdictEvent = z.infer<typeof GuardVerdictEvent>;

/** A sentence of the answer withheld by an output guard: the text view shows a short marker in its place; it is never spoken or stored. */
export const AnswerWithheldEvent = z.object({
  type: z.literal('answer-withheld'),
  turnId: TurnId,
  conversationId: ConversationId,
  guard: z.string(),
  reason: z.string(),
});
export type AnswerWithheldEvent = z.infer<typeof AnswerWithheldEvent>;
