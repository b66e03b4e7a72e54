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
  /** The configured OpenAI-compatible server's model, or `model` when given; absent where there is none. */
  createOpenAi?(model?: string): LlmProvider;
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
  choice: 'auto' | LlmProviderKind;
  factories: LlmProviderFactories;
  onStatus(status: LlmStatus): void;
  /** A change the user should know of: a fallback to the other provider (warning), the way back (info). */
  onNotice(message: string, level?: 'info' | 'warning'): void;
  /** Where failures that reach no caller are written (a provider that cannot be shut down, a probe that threw). */
  logger?: AgentLogger;
}

/** A provider with a circuit breaker that failed: kept (not disposed) while the other one answers, to be probed. */
interface DegradedProvider {
  provider: LlmProvider;
  /** When it was given up on, or last failed a probe (Date.now() time). */
  since: number;
  timer?: NodeJS.Timeout;
  probe?: Promise<void>;
}

/**
 * Chooses the LLM provider at startup (auto: Ollama when it is reachable and has the model, else embedded), loads and
 * warms it before the first question, and switches to the other provider when the active one fails. A provider with a
 * circuit breaker (Ollama) is tried again each time its breaker allows (its half-open delay after the last failure):
 * a probe in the background, never on a user's turn, and a switch back when it answers.
 */
export class LlmProviderManager {
  private activeProvider: LlmProvider | undefined;
  private loading: Promise<LlmProvider> | undefined;
  private currentStatus: LlmStatus = { state: 'loading', provider: null, model: null };
  /** A provider without a circuit breaker that failed is not chosen again this session. */
  private readonly failedKinds = new Set<LlmProviderKind>();
  /** The provider the session fell back from, while it may come back. */
  private degraded: DegradedProvider | undefined;
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
      // The model chosen now replaces whatever was waiting to come back.
      await this.dropDegraded();
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
   * Called when `failed` broke mid-session. Switches to the other provider if one can be loaded, with a notice (one
   * per switch, however many turns saw the failure). Returns the new provider, or undefined when there is nothing to
   * fall back to. A failed provider with a circuit breaker is kept, to be probed and switched back to.
   */
  async fallBackFrom(failed: LlmProvider, reason: string): Promise<LlmProvider | undefined> {
    if (this.fallback?.from === failed) return this.fallback.to;
    if (this.activeProvider !== failed) return this.ready();
    const recoverable = failed.circuit !== undefined;
    if (!recoverable) this.failedKinds.add(failed.kind);
    // A server that failed falls back to the model in the app; the model in the app to Ollama.
    const otherKind: LlmProviderKind = failed.kind === 'embedded' ? 'ollama' : 'embedded';
    // Not back to a provider that is itself waiting to come back: its probe decides that.
    if (this.failedKinds.has(otherKind) || this.degraded?.provider.kind === otherKind) return undefined;
    const until = recoverable ? ' until it answers again' : '';
    this.options.onNotice(`${describeKind(failed.kind)} failed (${reason}). Switching to ${describeKind(otherKind)}${until}.`.replace(/^the/, 'The'));
    const switching = this.load(otherKind, undefined, { keep: recoverable ? failed : undefined });
    this.loading = switching;
    // A failed switch is reported through the status (and so logged); the turns only need to know there is none.
    this.fallback = {
      from: failed,
      to: switching.then(
        (provider) => {
          if (recoverable) {
            this.degraded = { provider: failed, since: Date.now() };
            this.scheduleProbe(this.degraded);
          }
          return provider;
        },
        () => undefined,
      ),
    };
    return this.fallback.to;
  }

  async dispose(): Promise<void> {
    await this.dropDegraded();
    await this.activeProvider?.dispose();
    this.activeProvider = undefined;
  }

  /**
   * Probes the provider the session fell back from when its circuit breaker would let a call through again. The timer
   * does not keep the process alive.
   */
  private scheduleProbe(degraded: DegradedProvider): void {
    const circuit = degraded.provider.circuit;
    if (!circuit || this.degraded !== degraded) return;
    clearTimeout(degraded.timer);
    degraded.timer = setTimeout(
      () => {
        degraded.timer = undefined;
        if (this.degraded !== degraded || degraded.probe) return;
        if (!circuit.quietSince(degraded.since)) return this.scheduleProbe(degraded);
        degraded.probe = this.tryToRestore(degraded).finally(() => {
          degraded.probe = undefined;
          this.scheduleProbe(degraded);
        });
      },
      Math.max(0, circuit.probeAt(degraded.since) - Date.now()),
    );
    degraded.timer.unref();
  }

  /**
   * Loads (and so warms) the degraded provider again: its first request is the circuit breaker's half-open probe.
   * When it answers, new turns use it again and the fallback is disposed (after the generations it is running).
   */
  private async tryToRestore(degraded: DegradedProvider): Promise<void> {
    const { provider } = degraded;
    const started = performance.now();
    try {
      await provider.load();
    } catch (error) {
      degraded.since = Date.now();
      const shape = toErrorShape(error);
      this.options.logger?.info({ provider: provider.kind, code: shape.code, reason: shape.message }, 'LLM provider still unavailable');
      return;
    }
    // A runtime model switch (or shutdown) meanwhile has replaced it.
    if (this.degraded !== degraded) return;
    this.degraded = undefined;
    const fallback = this.activeProvider;
    this.activeProvider = provider;
    this.loading = Promise.resolve(provider);
    this.fallback = undefined;
    this.setStatus({ state: 'warm', provider: provider.kind, model: provider.modelId, loadMs: Math.round(performance.now() - started) });
    const from = fallback ? ` instead of ${describeKind(fallback.kind)}` : '';
    this.options.onNotice(`${describeKind(provider.kind)} answers again; using it${from}.`.replace(/^the/, 'The'), 'info');
    if (fallback && fallback !== provider) await fallback.dispose().catch((error: unknown) => this.logDisposeFailure(fallback.kind, error));
  }

  private async dropDegraded(): Promise<void> {
    const degraded = this.degraded;
    if (!degraded) return;
    this.degraded = undefined;
    clearTimeout(degraded.timer);
    if (degraded.provider === this.activeProvider) return;
    await degraded.provider.dispose().catch((error: unknown) => this.logDisposeFailure(degraded.provider.kind, error));
    await degraded.probe?.catch(() => undefined);
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

  /**
   * `target`: a model chosen at runtime instead of the configured one; `switching`: a failure is the caller's, not the
   * session's; `keep`: the provider being replaced is kept (to be probed) rather than disposed.
   */
  private async load(
    kind: LlmProviderKind,
    target?: LlmModelTarget,
    { switching = false, keep }: { switching?: boolean; keep?: LlmProvider | undefined } = {},
  ): Promise<LlmProvider> {
    const started = performance.now();
    let provider: LlmProvider | undefined;
    try {
      const { factories } = this.options;
      if (kind === 'embedded') provider = factories.createEmbedded(target?.kind === 'embedded' ? target.modelPath : undefined);
      else if (kind === 'ollama') provider = factories.createOllama(target?.kind === 'ollama' ? target.model : undefined);
      else if (factories.createOpenAi) provider = factories.createOpenAi();
      else throw new AgentError('PROVIDER_UNAVAILABLE', 'No OpenAI-compatible server is configured: set ASSISTANT_OPENAI_BASE_URL and ASSISTANT_OPENAI_MODEL.');
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
    if (previous && previous !== provider && previous !== keep) await previous.dispose().catch((error: unknown) => this.logDisposeFailure(previous.kind, error));
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
  return kind === 'ollama' ? 'Ollama' : kind === 'openai' ? 'the OpenAI-compatible server' : 'the embedded model';
}
