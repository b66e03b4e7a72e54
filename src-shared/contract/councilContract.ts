import { z } from 'zod';
import { TurnId } from './agentEntities.js';

/**
 * A member of a council of local models: a tier name (fast, balanced, quality), a GGUF file, `ollama:<model>` or
 * `openai:<model>`. The same model listed twice is two members, each with its own seed.
 */
export const CouncilMemberSpec = z
  .string()
  .min(1)
  .max(4096)
  .refine((spec) => !/[\u0000-\u001f\u007f]/.test(spec), 'a model spec has no control characters');

export const ModelTier = z.enum(['fast', 'balanced', 'quality']);
export type ModelTier = z.infer<typeof ModelTier>;

/** Which tier answered a turn and why: the `auto` router's choice per question, or the session's tier. */
export const TurnRoute = z.object({
  choice: z.enum(['auto', 'fast', 'balanced', 'quality']),
  tier: ModelTier,
  reason: z.string().max(300),
});
export type TurnRoute = z.infer<typeof TurnRoute>;

/** Ask the question of a council instead of one model: members answer, rank each other, and a chairman writes the answer. */
export const CouncilRequest = z.object({
  /** 2 to 8 members; absent: the configured chat model three times, with different seeds. */
  members: z.array(CouncilMemberSpec).min(1).max(8).optional(),
  /** Writes the final answer; absent: the configured chat model. */
  chairman: CouncilMemberSpec.optional(),
});
export type CouncilRequest = z.infer<typeof CouncilRequest>;

const CouncilStanding = z.object({
  memberId: z.string(),
  model: z.string(),
  position: z.number().int().positive(),
  score: z.number(),
  votes: z.number().int().nonnegative(),
});

/**
 * One piece of a council turn, as soon as it is ready, in order (`seq` strictly increasing within the turn): a member's
 * stage-1 answer, a member's ranking of the others (stage 2), the aggregate the chairman works from, or a notice (a
 * member dropped, the fallback aggregation, the chairman failing). The final answer streams as the turn's tokens.
 */
export const CouncilEvent = z.object({
  type: z.literal('council'),
  turnId: TurnId,
  stage: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  seq: z.number().int().positive(),
  /** The member's label; `council` for the aggregate and run-wide notices. */
  model: z.string(),
  kind: z.enum(['answer', 'ranking', 'aggregate', 'notice']),
  memberId: z.string().optional(),
  /** answer: the member's whole answer. */
  text: z.string().optional(),
  ms: z.number().nonnegative().optional(),
  /** ranking: best first, de-anonymised; empty when not usable (`reason` says why). */
  ranking: z.array(z.object({ memberId: z.string(), model: z.string() })).optional(),
  usable: z.boolean().optional(),
  late: z.boolean().optional(),
  reason: z.string().optional(),
  /** aggregate: from the members' rankings, or by the answers' agreement when no ranking was usable. */
  method: z.enum(['rankings', 'agreement', 'order']).optional(),
  table: z.array(CouncilStanding).optional(),
  rankingsUsed: z.number().int().nonnegative().optional(),
  rankingsExpected: z.number().int().nonnegative().optional(),
  /** notice */
  code: z.string().optional(),
  level: z.enum(['info', 'warning']).optional(),
  message: z.string().optional(),
});
export type CouncilEvent = z.infer<typeof CouncilEvent>;
