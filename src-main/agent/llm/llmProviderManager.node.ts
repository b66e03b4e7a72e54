import { AgentError, toErrorShape, type AgentStatus, type LlmProviderKind } from '../../../src-shared/contract/index.js';
import type { LlmProvider } from './llmProvider.js';

type LlmStatus = AgentStatus['llm'];

export interface OllamaProbe {
  reachable: boolean;
  hasModel: boolean;
}

/** How to make each provider; injected so tests can drive the choice and the fallback with real or protocol-test parts. */
export interface LlmProviderFactories {
  /** Throws AgentError('MODEL_MISSING') when no GGUF file resolves. */
  createEmbedded(): LlmProvider;
  createOllama(): LlmProvider;
  probeOllama(): Promise<OllamaProbe>;
}

export interface LlmProviderManagerOptions {
  choice: 'auto' | 'embedded' | 'ollama';
  factories: LlmProviderFactories;
  onStatus(status: LlmStatus): void;
  onNotice(message: string): void;
}

/**
 * Chooses the LLM provider at startup (auto: Ollama when it is reachable and has the model, else embedded), loads and
 * warms it before the first question, and switches to the other provider when the active one fails.
 */
export class LlmProviderManager {
  private activeProvider: LlmProvider | undefined;
  private loading: Promise<LlmProvider> | undefined;
  private currentStatus: LlmStatus = { state: 'loading', provider: null, model: null };
  /** A provider that failed is not chosen again this session. */
  private readonly failedKinds = new Set<LlmProviderKind>();
  /** The switch away from a failed provider, shared by every turn that saw it fail. */
  private fallback: { from: LlmProvider; to: Promise<LlmProvider | undefined> } | undefined;

  constructor(private readonly options: LlmProviderManagerOptions) {}

  get status(): LlmStatus {
    return this.currentStatus;
  }

  /** Starts loading; resolves when the provider is warm or has failed (the failure is in `status`). */
  start(): Promise<void> {
    this.loading ??= this.chooseAndLoad();
    return this.loading.then(
      () => undefined,
      () => undefined,
    );
  }

  /** The warm provider, waiting for startup if needed. Throws the startup error (e.g. MODEL_MISSING) otherwise. */
  async ready(): Promise<LlmProvider> {
    this.loading ??= this.chooseAndLoad();
    return this.loading;
  }

  /**
   * Called when `failed` broke mid-session. Switches to the other provider if one can be loaded, with a notice.
   * Returns the new provider, or undefined when there is nothing to fall back to.
   */
  async fallBackFrom(failed: LlmProvider, reason: string): Promise<LlmProvider | undefined> {
    if (this.fallback?.from === failed) return this.fallback.to;
    if (this.activeProvider !== failed) return this.ready();
    this.failedKinds.add(failed.kind);
    const otherKind: LlmProviderKind = failed.kind === 'ollama' ? 'embedded' : 'ollama';
    if (this.failedKinds.has(otherKind)) return undefined;
    this.options.onNotice(`${describeKind(failed.kind)} failed (${reason}). Switching to ${describeKind(otherKind)}.`.replace(/^the/, 'The'));
    this.loading = this.load(otherKind);
    this.fallback = { from: failed, to: this.loading.catch(() => undefined) };
    return this.fallback.to;
  }

  async dispose(): Promise<void> {
    await this.activeProvider?.dispose();
    this.activeProvider = undefined;
  }

  private async chooseAndLoad(): Promise<LlmProvider> {
    const choice = this.options.choice;
    if (choice !== 'auto') return this.load(choice);
    this.setStatus({ state: 'loading', provider: null, model: null, message: 'Looking for Ollama…' });
    const probe = await this.options.factories.probeOllama().catch(() => ({ reachable: false, hasModel: false }));
    if (probe.reachable && probe.hasModel) {
      try {
        return await this.load('ollama');
      } catch (error) {
        this.failedKinds.add('ollama');
        this.options.onNotice(`Ollama could not load the model (${toErrorShape(error).message}). Using the embedded model.`);
      }
    }
    return this.load('embedded');
  }

  private async load(kind: LlmProviderKind): Promise<LlmProvider> {
    const started = performance.now();
    let provider: LlmProvider | undefined;
    try {
      provider = kind === 'embedded' ? this.options.factories.createEmbedded() : this.options.factories.createOllama();
      this.setStatus({ state: 'loading', provider: kind, model: provider.modelId });
      await provider.load();
    } catch (error) {
      const shape = toErrorShape(error);
      this.failedKinds.add(kind);
      this.setStatus({
        state: shape.code === 'MODEL_MISSING' ? 'missing' : 'error',
        provider: kind,
        model: provider?.modelId ?? null,
        message: shape.message,
      });
      await provider?.dispose().catch(() => undefined);
      throw error instanceof AgentError ? error : new AgentError(shape.code, shape.message);
    }
    const previous = this.activeProvider;
    this.activeProvider = provider;
    if (previous && previous !== provider) await previous.dispose().catch(() => undefined);
    this.setStatus({ state: 'warm', provider: kind, model: provider.modelId, loadMs: Math.round(performance.now() - started) });
    return provider;
  }

  private setStatus(status: LlmStatus): void {
    this.currentStatus = status;
    this.options.onStatus(status);
  }
}

function describeKind(kind: LlmProviderKind): string {
  return kind === 'ollama' ? 'Ollama' : 'the embedded model';
}
