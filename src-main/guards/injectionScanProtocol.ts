import { z } from 'zod';
import { AgentErrorShape } from '../../src-shared/contract/index.js';
import { INJECTION_CATEGORIES } from './injectionBank.js';

export type InjectionScanRequest =
  /** Scores one text with the injection heuristics. */
  | { type: 'scan'; id: number; text: string }
  /** Stops a scan still running (it yields between patterns) and drops its answer. */
  | { type: 'cancel'; id: number };

const Category = z.enum(INJECTION_CATEGORIES as [string, ...string[]]);

/** The heuristics' reading of a text, as `scanInjectionHeuristics` returns it. */
const HeuristicsSchema = z.object({
  score: z.number().min(0).max(1),
  category: Category.optional(),
  hits: z.array(z.object({ patternId: z.string(), category: Category, weight: z.number(), start: z.number().int(), end: z.number().int() })),
  english: z.boolean(),
  quoted: z.boolean().optional(),
});

/** Checked on arrival: a reply that does not fit fails its scan rather than passing a text unread. */
export const InjectionScanReplySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('scanned'), id: z.number().int(), heuristics: HeuristicsSchema }),
  z.object({ type: z.literal('failed'), id: z.number().int(), error: AgentErrorShape }),
]);
export type InjectionScanReply = z.infer<typeof InjectionScanReplySchema>;
