import { AgentError, toErrorShape, type AgentStatus, type LlmProviderKind } from '../../../src-shared/contract/index.js';
import type { AgentLogger } from '../agentLogger.js';
import type { LlmProvider } from './llmProvider.js';

type LlmStatus = AgentStatus['llm'];

export interface OllamaProbe {
  reachable: boolean;
  hasModel: boolean;
}

/** How to make each provider; injected so tests can drive the choice and the fallback with real or protocol-test parts. */
export interface LlmProviderFactories {
  /**
   * The configured model, or `modelPath` when given (a model chosen at runtime). Throws AgentError('MODEL_MISSING')
   * when no GGUF file resolves; ModelNotDownloadedError when it is a manifest model that is not downloaded yet.
   */
  createEmbedded(modelPath?: string): LlmProvider;
  /** The configured Ollama model, or `model` when given. */
  createOllama(model?: string): LlmProvider;
  probeOllama(): Promise<OllamaProbe>;
}

/** A model to make active at runtime: a GGUF file for the embedded provider, or a model Ollama has. */
export type LlmModelTarget = { kind: 'embedded'; modelPath: string } | { kind: 'ollama'; model: string };

/** The chat model is a manifest model that is not downloaded yet (the first run): the UI offers to download it. */
export class ModelNotDownloadedError extends AgentError {
  constructor(
    readonly modelId: string,
    message: string,
  ) {
    super('MODEL_MISSING', message);
    this.name = 'ModelNotDownloadedError';
  }
}

export interface LlmProviderManagerOptions {
  choice: 'auto' | 'embedded' | 'ollama';
  factories: LlmProviderFactories;
  onStatus(status: LlmStatus): void;
  onNotice(message: string): void;
  /** Where failures that reach no caller are written (a provider that cannot be shut down, a probe that threw). */
  logger?: AgentLogger;
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
  /** Runtime model switches, one after another. */
  private switching: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: LlmProviderManagerOptions) {}

  get status(): LlmStatus {
    return this.currentStatus;
  }

  /** The provider answering now (warm), if any. */
  get active(): LlmProvider | undefined {
    return this.activeProvider;
  }

  /**
   * Makes `target` the chat model without a restart: loads and warms it, then new turns use it and the previous
   * provider is disposed (after the generations it is running). On failure the previous provider and status stay, and
   * the error (MODEL_MISSING, MODEL_CORRUPT, ...) goes to the caller. When nothing was loaded (first run), turns that
   * arrive meanwhile wait for this load.
   */
  use(target: LlmModelTarget): Promise<LlmProvider> {
    const run = this.switching.then(() => this.switchTo(target));
    this.switching = run.catch(() => undefined);
    return run;
  }

  private async switchTo(target: LlmModelTarget): Promise<LlmProvider> {
    // Startup (or a fallback) first: a switch never races the provider it would replace.
    await this.loading?.catch(() => undefined);
    const previousStatus = this.currentStatus;
    const previousLoading = this.loading;
    const attempt = this.load(target.kind, target, { switching: true });
    if (!this.activeProvider) this.loading = attempt;
    try {
      const provider = await attempt;
      this.loading = attempt;
      this.failedKinds.delete(target.kind);
      this.fallback = undefined;
      return provider;
    } catch (error) {
      this.loading = previousLoading;
      this.setStatus(previousStatus);
      throw error;
    }
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
    // A failed switch is reported through the status (and so logged); the turns only need to know there is none.
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
    const probe = await this.options.factories.probeOllama().catch((error: unknown) => {
      this.options.logger?.warn({ code: toErrorShape(error).code, reason: toErrorShape(error).message }, 'Ollama probe failed');
      return { reachable: false, hasModel: false };
    });
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

  /** `target`: a model chosen at runtime instead of the configured one; `switching`: a failure is the caller's, not the session's. */
  private async load(kind: LlmProviderKind, target?: LlmModelTarget, { switching = false } = {}): Promise<LlmProvider> {
    const started = performance.now();
    let provider: LlmProvider | undefined;
    try {
      const { factories } = this.options;
      if (kind === 'embedded') provider = factories.createEmbedded(target?.kind === 'embedded' ? target.modelPath : undefined);
      else provider = factories.createOllama(target?.kind === 'ollama' ? target.model : undefined);
      this.setStatus({ state: 'loading', provider: kind, model: provider.modelId });
      await provider.load();
    } catch (error) {
      const shape = toErrorShape(error);
      if (!switching) this.failedKinds.add(kind);
      // A failed switch leaves the model in use as it was: its caller gets the error, and no client's status badge
      // shows it (the previous status is restored).
      if (!(switching && this.activeProvider)) this.setStatus({
        state: shape.code === 'MODEL_MISSING' ? 'missing' : 'error',
        provider: kind,
        model: provider?.modelId ?? null,
        message: shape.message,
        ...(error instanceof ModelNotDownloadedError && { missingModelId: error.modelId }),
      });
      await provider?.dispose().catch((disposeError: unknown) => this.logDisposeFailure(kind, disposeError));
      throw error instanceof AgentError ? error : new AgentError(shape.code, shape.message);
    }
    const previous = this.activeProvider;
    this.activeProvider = provider;
    if (previous && previous !== provider) await previous.dispose().catch((error: unknown) => this.logDisposeFailure(previous.kind, error));
    this.setStatus({ state: 'warm', provider: kind, model: provider.modelId, loadMs: Math.round(performance.now() - started) });
    return provider;
  }

  /** A provider that cannot be shut down may hold on to memory or a connection: worth knowing, not worth failing for. */
  private logDisposeFailure(kind: LlmProviderKind, error: unknown): void {
    const shape = toErrorShape(error);
    this.options.logger?.error({ provider: kind, code: shape.code, reason: shape.message }, 'could not shut down the LLM provider');
  }

  private setStatus(status: LlmStatus): void {
    this.currentStatus = status;
    this.options.onStatus(status);
  }
}

function describeKind(kind: LlmProviderKind): string {
  return kind === 'ollama' ? 'Ollama' : 'the embedded model';
}
