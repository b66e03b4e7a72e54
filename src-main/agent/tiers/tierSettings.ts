import { TIERS, formatModelSpec, parseModelSpec, type ConcreteModelSpec, type ParseModelSpecOptions, type Tier } from './modelSpec.js';

/**
 * The tier settings: which model each tier (`fast`, `balanced`, `quality`) is, and which tier the session uses
 * (`auto`: the router picks one per question). Read from the app's saved settings, the environment and `--tier`, in
 * that order of strength: flag > env > settings > default. Pure: the environment is the object passed in.
 *
 * Without any of them nothing changes: every tier is the configured chat model and the session uses `balanced`.
 */

export const TIER_CHOICES = [...TIERS, 'auto'] as const;
export type TierChoice = (typeof TIER_CHOICES)[number];
/** The tier used when none is chosen, or when the choice is not a tier name. */
export const DEFAULT_TIER: Tier = 'balanced';

export const TIER_ENV = {
  choice: 'ASSISTANT_TIER',
  fast: 'ASSISTANT_TIER_FAST',
  balanced: 'ASSISTANT_TIER_BALANCED',
  quality: 'ASSISTANT_TIER_QUALITY',
} as const;
export const TIER_FLAG = '--tier';

/** "The chat model the provider settings already choose" (ASSISTANT_LLM_PROVIDER/MODEL, Ollama's or the server's). */
export interface ConfiguredChatModel {
  kind: 'configured';
}
export const CONFIGURED_CHAT_MODEL: ConfiguredChatModel = Object.freeze({ kind: 'configured' });

/** A tier's model: a model spec, or the configured chat model. */
export type TierModel = ConcreteModelSpec | ConfiguredChatModel;
export type TierModels = Record<Tier, TierModel>;

/** What the app's saved settings may hold (strings as the user typed them). */
export interface TierSettingsInput {
  tier?: string;
  tiers?: Partial<Record<Tier, string>>;
}

export type TierSettingSource = 'flag' | 'env' | 'settings' | 'default';

export interface TierChoiceResult {
  tier: TierChoice;
  /** Set when the value was not a tier name: names the value and the allowed ones; the tier is then `balanced`. */
  warning?: string;
}

export interface ResolvedTierSettings {
  /** The session's tier, or `auto`. */
  tier: TierChoice;
  tierSource: TierSettingSource;
  models: TierModels;
  modelSources: Record<Tier, TierSettingSource>;
  /** One per value that was not used (a bad tier name, a bad model spec), naming where it came from. */
  warnings: string[];
}

export interface ResolveTierSettingsOptions extends ParseModelSpecOptions {
  settings?: TierSettingsInput;
  env?: Readonly<Record<string, string | undefined>>;
  /** The value of `--tier`, if given. */
  flag?: string;
  /** What a tier without a model of its own is. Default: the configured chat model. */
  chatModel?: TierModel;
}

const given = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';

function quoted(raw: string): string {
  return raw.length > 40 ? `${JSON.stringify(raw.slice(0, 40)).slice(0, -1)}…" (${raw.length} characters)` : JSON.stringify(raw);
}

/**
 * A tier choice as typed (case and surrounding spaces ignored). Anything else warns and gives `balanced`.
 * `source` names where it came from, for the warning (`ASSISTANT_TIER`, `--tier`, `the tier setting`).
 */
export function parseTierChoice(raw: string, source: string = TIER_ENV.choice): TierChoiceResult {
  const value = raw.trim().toLowerCase();
  if ((TIER_CHOICES as readonly string[]).includes(value)) return { tier: value as TierChoice };
  return {
    tier: DEFAULT_TIER,
    warning: `${source} is ${quoted(raw)}, which is not a tier; the tiers are ${TIER_CHOICES.join(', ')}. Using ${DEFAULT_TIER}.`,
  };
}

/** A tier's model spec as typed: a model, not a tier name. Undefined model with a warning when it is not one. */
export function parseTierModel(raw: string, source: string, options: ParseModelSpecOptions = {}): { model?: ConcreteModelSpec; warning?: string } {
  const parsed = parseModelSpec(raw, options);
  if (!parsed.ok) return { warning: `${source}: ${parsed.error}` };
  if (parsed.spec.kind === 'tier') {
    return { warning: `${source} is the tier "${parsed.spec.tier}"; a tier must name a model (a .gguf path, a manifest id, ollama:<model> or openai:<model>).` };
  }
  return { model: parsed.spec };
}

/** The tier choice and the tiers' models, from `--tier`, the environment, the saved settings and the defaults. */
export function resolveTierSettings(options: ResolveTierSettingsOptions = {}): ResolvedTierSettings {
  const env = options.env ?? {};
  const settings = options.settings ?? {};
  const fallback = options.chatModel ?? CONFIGURED_CHAT_MODEL;
  const warnings: string[] = [];

  const choiceCandidates: [TierSettingSource, string | undefined, string][] = [
    ['flag', options.flag, TIER_FLAG],
    ['env', env[TIER_ENV.choice], TIER_ENV.choice],
    ['settings', settings.tier, 'the tier setting'],
  ];
  let tier: TierChoice = DEFAULT_TIER;
  let tierSource: TierSettingSource = 'default';
  const choice = choiceCandidates.find(([, value]) => given(value));
  if (choice) {
    const parsed = parseTierChoice(choice[1]!, choice[2]);
    tier = parsed.tier;
    tierSource = choice[0];
    if (parsed.warning) warnings.push(parsed.warning);
  }

  const models = {} as TierModels;
  const modelSources = {} as Record<Tier, TierSettingSource>;
  for (const name of TIERS) {
    models[name] = fallback;
    modelSources[name] = 'default';
    const candidates: [TierSettingSource, string | undefined, string][] = [
      ['env', env[TIER_ENV[name]], TIER_ENV[name]],
      ['settings', settings.tiers?.[name], `The ${name} tier setting`],
    ];
    const candidate = candidates.find(([, value]) => given(value));
    if (!candidate) continue;
    const parsed = parseTierModel(candidate[1]!, candidate[2], options);
    if (parsed.model) {
      models[name] = parsed.model;
      modelSources[name] = candidate[0];
    } else {
      warnings.push(`${parsed.warning} The ${name} tier uses ${describeTierModel(fallback)}.`);
    }
  }
  return { tier, tierSource, models, modelSources, warnings };
}

/** A tier's model for messages and the UI: `ollama:qwen2.5:7b`, or "the configured chat model". */
export function describeTierModel(model: TierModel): string {
  return model.kind === 'configured' ? 'the configured chat model' : formatModelSpec(model);
}

/** Whether the tiers name more than one model: without that, choosing a tier (or routing) changes nothing. */
export function tiersDiffer(models: TierModels): boolean {
  return new Set(TIERS.map((name) => `${models[name].kind}\u0000${describeTierModel(models[name])}`)).size > 1;
}

/**
 * The configured chat model as a spec, when the provider settings name one model: the embedded provider with a model
 * (a path or a manifest id), Ollama's model, or the server's model. `auto` (Ollama or embedded, decided at startup) and
 * an embedded or server default give "the configured chat model", resolved by the provider manager as today.
 */
export function configuredChatModelSpec(
  llm: { provider: 'auto' | 'embedded' | 'ollama' | 'openai'; modelPath?: string; ollamaModel?: string; openaiModel?: string },
  options: ParseModelSpecOptions = {},
): TierModel {
  if (llm.provider === 'embedded' && given(llm.modelPath)) {
    const parsed = parseModelSpec(llm.modelPath, options);
    if (parsed.ok && (parsed.spec.kind === 'gguf' || parsed.spec.kind === 'embedded')) return parsed.spec;
    // Something the model resolver accepts but a spec would read otherwise (a path without .gguf that is not there yet).
    return { kind: 'gguf', path: llm.modelPath };
  }
  if (llm.provider === 'ollama' && given(llm.ollamaModel)) return { kind: 'ollama', model: llm.ollamaModel.trim() };
  if (llm.provider === 'openai' && given(llm.openaiModel)) return { kind: 'openai', model: llm.openaiModel.trim() };
  return CONFIGURED_CHAT_MODEL;
}
