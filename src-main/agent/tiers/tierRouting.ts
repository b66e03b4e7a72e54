import type { TurnRoute } from '../../../src-shared/contract/index.js';
import type { LlmProvider } from '../llm/llmProvider.js';
import { formatModelSpec, type Tier } from './modelSpec.js';
import { createTierRouter, type EmbedTexts } from './tierRouter.js';
import type { ResolvedTierSettings } from './tierSettings.js';

export interface TierRouteStepOptions {
  tiers: ResolvedTierSettings;
  /** The loaded provider of a model spec (kept loaded for the next question). */
  providerFor(spec: string): Promise<LlmProvider>;
  /** The question's embedding space (the retrieval embedder), for the `auto` router. */
  embed: EmbedTexts;
}

export type TierRouteStep = (input: { question: string; voice: boolean; documents: number; signal: AbortSignal }) => Promise<{ provider?: LlmProvider; route: TurnRoute }>;

/**
 * The turn's tier. `auto`: the router picks one per question (its examples, length, documents, voice), and a tier
 * whose model is not the chat model is answered by that model, loaded once and kept. A fixed tier: its model is the
 * session's chat model already (the app made it so), and the route only says which tier it is.
 */
export function tierRouteStep({ tiers, providerFor, embed }: TierRouteStepOptions): TierRouteStep {
  const choice = tiers.tier;
  if (choice !== 'auto') {
    const reason = tiers.tierSource === 'flag' ? 'chosen with --tier' : tiers.tierSource === 'env' ? 'chosen with ASSISTANT_TIER' : 'the saved tier';
    return async () => ({ route: { choice, tier: choice, reason } });
  }
  const router = createTierRouter({ embed });
  return async ({ question, voice, documents, signal }) => {
    const decision = await router.route({ question, voice, documents, signal });
    const tier: Tier = decision.tier;
    const model = tiers.models[tier];
    const route: TurnRoute = { choice, tier, reason: decision.reason.slice(0, 300) };
    if (model.kind === 'configured') return { route };
    return { provider: await providerFor(formatModelSpec(model)), route };
  };
}
