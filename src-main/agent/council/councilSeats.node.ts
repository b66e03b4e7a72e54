import { statSync } from 'node:fs';
import os from 'node:os';
import { AgentError, type CouncilRequest } from '../../../src-shared/contract/index.js';
import type { AgentLogger } from '../agentLogger.js';
import type { LlmProvider } from '../llm/llmProvider.js';
import type { LlmProviderFactories } from '../llm/llmProviderManager.node.js';
import type { EmbedTexts } from './aggregateRankings.js';
import { councilMembersFrom, providerCouncilMember, type CouncilMember } from './councilMember.js';

/** With no members given: the chat model three times, each with its own seed. */
const DEFAULT_MEMBERS = 3;
const TIERS = new Set(['fast', 'balanced', 'quality']);
/** Loading more embedded models than this share of the free memory would swap the machine. */
const FREE_MEMORY_SHARE = 0.8;
/** A loaded GGUF model takes about its file size plus its context; this covers the context of a small one. */
const MODEL_OVERHEAD_BYTES = 256 * 1024 * 1024;

export interface SeatedCouncil {
  members: CouncilMember[];
  chairman: CouncilMember;
  embed: EmbedTexts;
}

export interface CouncilSeatsOptions {
  factories: LlmProviderFactories;
  /** The session's chat model (the default member and chairman, and a tier without a model of its own). */
  chatModel(): Promise<LlmProvider>;
  /** A tier's own model as a spec (`ollama:…`, a .gguf…), or undefined when the tier is the chat model. */
  tierModel?(tier: string): string | undefined;
  /** Embeds the answers for the agreement fallback; absent: that fallback keeps the members' order. */
  embed?: EmbedTexts;
  logger: AgentLogger;
  /** For tests: the free memory in bytes. */
  freeMemory?: () => number;
}

/**
 * Turns a council request into loaded members and a chairman. A member is a tier name (for now the chat model, as
 * tiers default to it), a GGUF file, `ollama:<model>` or `openai:<model>`. Each distinct model is loaded once and
 * kept loaded for the next council (models stay warm); the same model listed twice is two members with their own
 * seeds. Before loading embedded models it checks the free memory, and refuses with a clear message rather than
 * swapping the machine to death.
 */
export class CouncilSeats {
  private readonly loaded = new Map<string, Promise<LlmProvider>>();

  constructor(private readonly options: CouncilSeatsOptions) {}

  async seat(request: CouncilRequest): Promise<SeatedCouncil> {
    const specs = request.members ?? Array.from({ length: DEFAULT_MEMBERS }, () => 'balanced');
    this.checkMemory([...specs, ...(request.chairman ? [request.chairman] : [])]);
    const providers = await Promise.all(specs.map((spec) => this.provider(spec)));
    const members = councilMembersFrom(providers.map((provider) => ({ provider })));
    const chairmanProvider = request.chairman ? await this.provider(request.chairman) : await this.options.chatModel();
    const chairman = providerCouncilMember({ id: 'chair', label: `${chairmanProvider.modelId} (chairman)`, provider: chairmanProvider });
    const embed: EmbedTexts = this.options.embed ?? (async () => Promise.reject(new Error('no embedder')));
    return { members, chairman, embed };
  }

  async dispose(): Promise<void> {
    const providers = await Promise.allSettled([...this.loaded.values()]);
    this.loaded.clear();
    await Promise.all(providers.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.dispose().catch(() => undefined) : undefined)));
  }

  /** The loaded provider for one model spec (a tier name: the chat model); loaded once and kept. */
  providerFor(spec: string): Promise<LlmProvider> {
    return this.provider(spec);
  }

  private provider(spec: string): Promise<LlmProvider> {
    const trimmed = spec.trim();
    if (TIERS.has(trimmed.toLowerCase())) {
      const model = this.options.tierModel?.(trimmed.toLowerCase());
      return model === undefined ? this.options.chatModel() : this.provider(model);
    }
    let loading = this.loaded.get(trimmed);
    if (!loading) {
      loading = this.load(trimmed);
      this.loaded.set(trimmed, loading);
      // A model that failed to load is tried again next time.
      loading.catch(() => this.loaded.delete(trimmed));
    }
    return loading;
  }

  private async load(spec: string): Promise<LlmProvider> {
    const { factories } = this.options;
    let provider: LlmProvider;
    if (spec.startsWith('ollama:')) provider = factories.createOllama(spec.slice('ollama:'.length));
    else if (spec.startsWith('openai:')) {
      if (!factories.createOpenAi) throw new AgentError('INVALID_SETTING', 'No OpenAI-compatible server is configured: set ASSISTANT_OPENAI_BASE_URL.');
      provider = factories.createOpenAi(spec.slice('openai:'.length));
    } else if (/^[a-z]+:/i.test(spec) && !/^[a-z]:[\\/]/i.test(spec)) {
      throw new AgentError('INVALID_SETTING', `Unknown council member "${spec.slice(0, 80)}": use a tier (fast, balanced, quality), a .gguf file, ollama:<model> or openai:<model>.`);
    } else provider = factories.createEmbedded(spec);
    try {
      await provider.load();
    } catch (error) {
      await provider.dispose().catch(() => undefined);
      throw error;
    }
    this.options.logger.info({ model: provider.modelId, provider: provider.kind }, 'council member loaded');
    return provider;
  }

  /** Refuses before loading when the embedded models not loaded yet would not fit in the free memory. */
  private checkMemory(specs: readonly string[]): void {
    const toLoad = [...new Set(specs.map((spec) => spec.trim()))].filter(
      (spec) => !TIERS.has(spec) && !this.loaded.has(spec) && !/^(ollama|openai):/.test(spec),
    );
    let needed = 0;
    for (const file of toLoad) {
      try {
        needed += statSync(file).size + MODEL_OVERHEAD_BYTES;
      } catch {
        // A missing file fails its load with its own message.
      }
    }
    const free = (this.options.freeMemory ?? os.freemem)();
    if (needed > free * FREE_MEMORY_SHARE) {
      throw new AgentError(
        'INVALID_SETTING',
        `The council's models need about ${gib(needed)} of memory to load and ${gib(free)} is free: use fewer or smaller models, ` +
          'or models served by Ollama or an OpenAI-compatible server.',
      );
    }
  }
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}
