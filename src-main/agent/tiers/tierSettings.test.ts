import { describe, expect, it } from 'vitest';
import {
  CONFIGURED_CHAT_MODEL,
  configuredChatModelSpec,
  DEFAULT_TIER,
  describeTierModel,
  parseTierChoice,
  resolveTierSettings,
  TIER_CHOICES,
  tiersDiffer,
  type TierModels,
} from './tierSettings.js';

describe('parseTierChoice', () => {
  it.each(TIER_CHOICES)('accepts %s', (choice) => {
    expect(parseTierChoice(choice)).toEqual({ tier: choice });
    expect(parseTierChoice(` ${choice.toUpperCase()}\n`)).toEqual({ tier: choice });
  });

  it('warns about any other value, naming it and the allowed ones, and uses balanced', () => {
    expect(parseTierChoice('fastest')).toEqual({
      tier: 'balanced',
      warning: 'ASSISTANT_TIER is "fastest", which is not a tier; the tiers are fast, balanced, quality, auto. Using balanced.',
    });
    expect(parseTierChoice('', '--tier').warning).toBe('--tier is "", which is not a tier; the tiers are fast, balanced, quality, auto. Using balanced.');
    expect(parseTierChoice('x'.repeat(500)).warning).toContain('…" (500 characters)');
    expect(parseTierChoice('ollama:qwen').tier).toBe(DEFAULT_TIER);
  });
});

describe('resolveTierSettings', () => {
  it('changes nothing without settings: every tier is the configured chat model, the session balanced', () => {
    expect(resolveTierSettings()).toEqual({
      tier: 'balanced',
      tierSource: 'default',
      models: { fast: CONFIGURED_CHAT_MODEL, balanced: CONFIGURED_CHAT_MODEL, quality: CONFIGURED_CHAT_MODEL },
      modelSources: { fast: 'default', balanced: 'default', quality: 'default' },
      warnings: [],
    });
    // Or the chat model the caller names.
    const chatModel = { kind: 'ollama', model: 'qwen2.5:1.5b-instruct' } as const;
    expect(resolveTierSettings({ chatModel }).models).toEqual({ fast: chatModel, balanced: chatModel, quality: chatModel });
  });

  it('reads the tier and the tier models from the environment', () => {
    const resolved = resolveTierSettings({
      env: {
        ASSISTANT_TIER: 'auto',
        ASSISTANT_TIER_FAST: 'ollama:qwen2.5:0.5b',
        ASSISTANT_TIER_BALANCED: 'models/llm/qwen2.5-1.5b.gguf',
        ASSISTANT_TIER_QUALITY: 'openai:qwen2.5-14b-instruct',
        UNRELATED: 'fast',
      },
    });
    expect(resolved).toEqual({
      tier: 'auto',
      tierSource: 'env',
      models: {
        fast: { kind: 'ollama', model: 'qwen2.5:0.5b' },
        balanced: { kind: 'gguf', path: 'models/llm/qwen2.5-1.5b.gguf' },
        quality: { kind: 'openai', model: 'qwen2.5-14b-instruct' },
      },
      modelSources: { fast: 'env', balanced: 'env', quality: 'env' },
      warnings: [],
    });
  });

  it('takes --tier over the environment over the saved settings, and leaves the rest to the defaults', () => {
    const settings = { tier: 'quality', tiers: { fast: 'ollama:llama3.2:1b', quality: 'qwen2.5-7b-instruct' } };
    expect(resolveTierSettings({ settings })).toMatchObject({
      tier: 'quality',
      tierSource: 'settings',
      models: { fast: { kind: 'ollama', model: 'llama3.2:1b' }, balanced: CONFIGURED_CHAT_MODEL, quality: { kind: 'embedded', model: 'qwen2.5-7b-instruct' } },
      modelSources: { fast: 'settings', balanced: 'default', quality: 'settings' },
    });
    const env = { ASSISTANT_TIER: 'fast', ASSISTANT_TIER_FAST: 'openai:small' };
    expect(resolveTierSettings({ settings, env })).toMatchObject({
      tier: 'fast',
      tierSource: 'env',
      models: { fast: { kind: 'openai', model: 'small' } },
      modelSources: { fast: 'env', quality: 'settings' },
    });
    expect(resolveTierSettings({ settings, env, flag: 'auto' })).toMatchObject({ tier: 'auto', tierSource: 'flag' });
    // An empty value counts as unset, as for the other settings.
    expect(resolveTierSettings({ settings, env: { ASSISTANT_TIER: '', ASSISTANT_TIER_FAST: ' ' }, flag: '' })).toMatchObject({
      tier: 'quality',
      tierSource: 'settings',
      models: { fast: { kind: 'ollama', model: 'llama3.2:1b' } },
    });
  });

  it('warns about an invalid tier name and uses balanced, not a weaker source', () => {
    const resolved = resolveTierSettings({ env: { ASSISTANT_TIER: 'turbo' }, settings: { tier: 'quality' } });
    expect(resolved.tier).toBe('balanced');
    expect(resolved.tierSource).toBe('env');
    expect(resolved.warnings).toEqual(['ASSISTANT_TIER is "turbo", which is not a tier; the tiers are fast, balanced, quality, auto. Using balanced.']);
    expect(resolveTierSettings({ flag: 'QUALITY!' }).warnings[0]).toMatch(/^--tier is "QUALITY!", which is not a tier/);
    expect(resolveTierSettings({ settings: { tier: 'x' } }).warnings[0]).toMatch(/^the tier setting is "x"/);
  });

  it('warns about a tier model that is not a model spec, or is a tier, and keeps the default for it', () => {
    const chatModel = { kind: 'gguf', path: '/m/default.gguf' } as const;
    const resolved = resolveTierSettings({
      chatModel,
      env: { ASSISTANT_TIER_FAST: 'foo:bar', ASSISTANT_TIER_QUALITY: 'fast' },
      settings: { tiers: { balanced: 'a\u0000b' } },
    });
    expect(resolved.models).toEqual({ fast: chatModel, balanced: chatModel, quality: chatModel });
    expect(resolved.modelSources).toEqual({ fast: 'default', balanced: 'default', quality: 'default' });
    expect(resolved.warnings).toHaveLength(3);
    expect(resolved.warnings[0]).toMatch(/^ASSISTANT_TIER_FAST: Unknown model spec prefix "foo:".* The fast tier uses \/m\/default\.gguf\.$/);
    expect(resolved.warnings[1]).toMatch(/^The balanced tier setting: The model spec "a\\u0000b" contains a control character .* The balanced tier uses/);
    expect(resolved.warnings[2]).toBe(
      'ASSISTANT_TIER_QUALITY is the tier "fast"; a tier must name a model (a .gguf path, a manifest id, ollama:<model> or openai:<model>). The quality tier uses /m/default.gguf.',
    );
  });

  it('asks the caller whether a path is a file (no I/O of its own)', () => {
    const env = { ASSISTANT_TIER_QUALITY: '/models/big-model' };
    expect(resolveTierSettings({ env }).warnings[0]).toMatch(/does not exist/);
    expect(resolveTierSettings({ env, isFile: (path) => path === '/models/big-model' }).models.quality).toEqual({ kind: 'gguf', path: '/models/big-model' });
  });
});

describe('tier helpers', () => {
  it('describes a tier model and tells whether the tiers differ', () => {
    expect(describeTierModel(CONFIGURED_CHAT_MODEL)).toBe('the configured chat model');
    expect(describeTierModel({ kind: 'ollama', model: 'x:1b' })).toBe('ollama:x:1b');
    const same: TierModels = { fast: CONFIGURED_CHAT_MODEL, balanced: CONFIGURED_CHAT_MODEL, quality: CONFIGURED_CHAT_MODEL };
    expect(tiersDiffer(same)).toBe(false);
    expect(tiersDiffer({ ...same, quality: { kind: 'ollama', model: 'big' } })).toBe(true);
    expect(tiersDiffer({ fast: { kind: 'ollama', model: 'a' }, balanced: { kind: 'ollama', model: 'a' }, quality: { kind: 'ollama', model: 'a' } })).toBe(false);
    expect(tiersDiffer({ ...same, fast: { kind: 'embedded', model: 'a' }, balanced: { kind: 'gguf', path: 'a' } })).toBe(true);
  });

  it('turns the provider settings into the configured chat model spec when they name one model', () => {
    expect(configuredChatModelSpec({ provider: 'auto', ollamaModel: 'qwen' })).toEqual(CONFIGURED_CHAT_MODEL);
    expect(configuredChatModelSpec({ provider: 'embedded' })).toEqual(CONFIGURED_CHAT_MODEL);
    expect(configuredChatModelSpec({ provider: 'embedded', modelPath: '/m/a.gguf' })).toEqual({ kind: 'gguf', path: '/m/a.gguf' });
    expect(configuredChatModelSpec({ provider: 'embedded', modelPath: 'qwen2.5-1.5b-instruct' })).toEqual({ kind: 'embedded', model: 'qwen2.5-1.5b-instruct' });
    expect(configuredChatModelSpec({ provider: 'embedded', modelPath: '/m/not-there' })).toEqual({ kind: 'gguf', path: '/m/not-there' });
    expect(configuredChatModelSpec({ provider: 'ollama', ollamaModel: 'qwen2.5:1.5b-instruct' })).toEqual({ kind: 'ollama', model: 'qwen2.5:1.5b-instruct' });
    expect(configuredChatModelSpec({ provider: 'openai', openaiModel: 'local' })).toEqual({ kind: 'openai', model: 'local' });
    expect(configuredChatModelSpec({ provider: 'openai' })).toEqual(CONFIGURED_CHAT_MODEL);
  });
});
