import type { LlmGenerateRequest, LlmGenerateResult, LlmProvider, LlmSampling } from '../llm/llmProvider.js';

/**
 * How a member samples: what makes a model listed twice two distinct members. Passed with every request as
 * `LlmGenerateRequest.sampling`, which every provider honours.
 */
export type CouncilSampling = LlmSampling;

/** What the council asks a member (or the chairman) for: one prompt, streamed; the member adds its own sampling. */
export type CouncilGenerateRequest = Omit<LlmGenerateRequest, 'sampling' | 'continueFrom'>;

/**
 * One seat at the council. `concurrency: 'exclusive'` members (embedded models, which share the machine's CPU) take
 * turns with each other; `parallel` ones (Ollama, an OpenAI-compatible server) run at once.
 */
export interface CouncilMember {
  /** Unique within a council run, even when two members run the same model. */
  readonly id: string;
  /** Shown to the user and put in the events' `model`; unique within a council run too. */
  readonly label: string;
  readonly concurrency: 'parallel' | 'exclusive';
  /** Streams an answer; must return within ~100 ms of `signal` aborting (as `LlmProvider.generate` does). */
  generate(request: CouncilGenerateRequest): Promise<LlmGenerateResult>;
}

export interface ProviderMemberSpec {
  provider: LlmProvider;
  sampling?: CouncilSampling;
  /** Default: `exclusive` for embedded providers, `parallel` for servers. */
  concurrency?: CouncilMember['concurrency'];
  /** Default: the provider's model id, with the sampling when it is set. */
  label?: string;
}

/**
 * Members over providers, with distinct ids (`m1`, `m2`…) and labels: a model listed twice becomes two members,
 * labelled `model #1` / `model #2`, each with its own sampling (given, or seed 1, 2… when none is).
 */
export function councilMembersFrom(specs: readonly ProviderMemberSpec[], idPrefix = 'm'): CouncilMember[] {
  const baseLabels = specs.map((spec) => spec.label ?? spec.provider.modelId);
  const seen = new Map<string, number>();
  return specs.map((spec, index) => {
    const base = baseLabels[index]!;
    const repeated = baseLabels.filter((label) => label === base).length > 1;
    const nth = (seen.get(base) ?? 0) + 1;
    seen.set(base, nth);
    // A repeat without its own sampling would only answer the same again.
    const sampling = spec.sampling ?? (repeated ? { seed: nth } : undefined);
    return providerCouncilMember({
      id: `${idPrefix}${index + 1}`,
      label: repeated ? `${base} #${nth}` : base,
      provider: spec.provider,
      ...(sampling && { sampling }),
      ...(spec.concurrency && { concurrency: spec.concurrency }),
    });
  });
}

/** The request a provider gets from a council member: the council's request with the member's `sampling`. */
export type CouncilProviderRequest = LlmGenerateRequest;

export function providerCouncilMember(options: {
  id: string;
  label: string;
  provider: LlmProvider;
  sampling?: CouncilSampling;
  concurrency?: CouncilMember['concurrency'];
}): CouncilMember {
  const { provider, sampling } = options;
  return {
    id: options.id,
    label: options.label,
    concurrency: options.concurrency ?? (provider.kind === 'embedded' ? 'exclusive' : 'parallel'),
    generate(request) {
      const withSampling: CouncilProviderRequest = { ...request, ...(sampling && { sampling: { ...sampling } }) };
      return provider.generate(withSampling);
    },
  };
}
