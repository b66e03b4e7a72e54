import { statSync } from 'node:fs';
import type { AgentConfig } from '../agent/agentConfig.node.js';
import { configuredChatModelSpec, resolveTierSettings, type ResolvedTierSettings, type TierSettingsInput } from '../agent/tiers/tierSettings.js';

const isFile = (file: string): boolean => statSync(file, { throwIfNoEntry: false })?.isFile() ?? false;

/**
 * The session's model tiers: `--tier` (`flag`), else ASSISTANT_TIER, else the saved setting, else balanced; each tier's
 * model from ASSISTANT_TIER_FAST / _BALANCED / _QUALITY, else the saved setting, else the configured chat model. Bad
 * values are warnings, not errors.
 */
export function sessionTiers(
  config: AgentConfig,
  flag: string | undefined,
  saved: TierSettingsInput = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedTierSettings {
  return resolveTierSettings({ env, settings: saved, ...(flag !== undefined && { flag }), chatModel: configuredChatModelSpec(config.llm, { isFile }), isFile });
}

/** A fixed tier whose model is not the configured one makes that model the session's chat model. */
export function chatModelOfTier(llm: AgentConfig['llm'], tiers: ResolvedTierSettings): AgentConfig['llm'] {
  if (tiers.tier === 'auto') return llm;
  const model = tiers.models[tiers.tier];
  switch (model.kind) {
    case 'gguf':
      return { ...llm, provider: 'embedded', modelPath: model.path };
    case 'embedded':
      return { ...llm, provider: 'embedded', modelPath: model.model };
    case 'ollama':
      return { ...llm, provider: 'ollama', ollamaModel: model.model };
    case 'openai':
      return { ...llm, provider: 'openai', openaiModel: model.model };
    default:
      return llm;
  }
}
