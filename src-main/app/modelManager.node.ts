import { statSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  AgentError,
  toErrorShape,
  type AgentEvent,
  type CatalogModel,
  type ModelCatalog,
  type ModelProgressEvent,
} from '../../src-shared/contract/index.js';
import type { AgentConfig } from '../agent/agentConfig.node.js';
import type { AgentLogger } from '../agent/agentLogger.js';
import type { CommandHandlers } from '../agent/commandHandlers.js';
import type { LlmModelTarget } from '../agent/llm/llmProviderManager.node.js';
import type { LlmProvider } from '../agent/llm/llmProvider.js';
import { isSameOllamaModel, probeOllama } from '../agent/llm/ollamaProvider.node.js';
import { DownloadFailure, downloadModelFile, partialPath, rejectedPath } from '../models/modelDownloader.node.js';
import { downloadModelFolder, partialFolderBytes } from '../models/modelFolderDownload.node.js';
import { findManifestEntry, isFolderEntry, type ModelManifestEntry } from '../models/modelManifest.js';
import { inspectOnnxModelFolder } from '../documents/onnxEmbedder.node.js';
import type { KnownModels } from '../models/modelManifest.node.js';
import { describeModels, downloadModelsDir, downloadTargetPath, pullCommand, type ModelLocationOptions, type ModelStatus } from '../models/modelResolver.node.js';
import { OllamaPullFailure, pullOllamaModel } from '../models/ollamaModelPull.node.js';
import { checkGgufFile } from '../agent/llm/embeddedLlamaProvider.node.js';
import { MAX_LLM_THREADS } from '../agent/agentSettings.node.js';
import { checkModelFile as checkWhisperModelFile } from '../voice/stt/whisperTranscriber.node.js';
import type { AppSettings } from './appSettings.node.js';

/** What the model manager needs of the chat model (the agent core's LlmProviderManager). */
export interface ChatModelControl {
  readonly active: LlmProvider | undefined;
  /** Resolves when startup loading has settled (warm or failed). */
  start(): Promise<void>;
  use(target: LlmModelTarget): Promise<LlmProvider>;
}

export interface ModelManagerOptions {
  config: AgentConfig;
  known: KnownModels;
  llm: ChatModelControl;
  settings: AppSettings;
  emit(event: AgentEvent): void;
  logger: AgentLogger;
  env?: NodeJS.ProcessEnv;
  /** Least time between two progress events of one pull (the first and the last are always sent). */
  progressIntervalMs?: number;
}

interface RunningPull {
  source: 'manifest' | 'ollama';
  controller: AbortController;
  receivedBytes: number;
  totalBytes: number | null;
  /** Settles (never rejects) when the pull has ended and its last event was sent. */
  ended: Promise<void>;
}

/** The embedder that is built in (no download): what an unset ASSISTANT_EMBEDDER means. */
const BUILT_IN_EMBEDDER = 'use-lite';

type ProgressState = ModelProgressEvent['state'];

/** How a pull ended; `then`: the chat model to make active when none is (first run). */
type PullOutcome = { done: true; then: LlmModelTarget | undefined } | { done: false; cancelled?: boolean; message?: string };

/** At most one progress event per interval, except state changes; the final event always goes out. */
class ProgressReporter {
  private lastSentAt = 0;
  private lastState: ProgressState | undefined;
  private bytesPerSecond = 0;

  constructor(
    private readonly id: string,
    private readonly pull: RunningPull,
    private readonly emit: (event: AgentEvent) => void,
    private readonly intervalMs: number,
  ) {}

  update(state: ProgressState, receivedBytes: number, totalBytes: number | null, bytesPerSecond: number): void {
    this.pull.receivedBytes = receivedBytes;
    this.pull.totalBytes = totalBytes;
    this.bytesPerSecond = bytesPerSecond;
    const now = performance.now();
    if (state === this.lastState && now - this.lastSentAt < this.intervalMs) return;
    this.send(state);
  }

  finish(state: 'done' | 'failed' | 'cancelled', message?: string): void {
    if (state === 'done' && this.pull.totalBytes !== null) this.pull.receivedBytes = this.pull.totalBytes;
    this.send(state, message);
  }

  private send(state: ProgressState, message?: string): void {
    this.lastSentAt = performance.now();
    this.lastState = state;
    this.emit({
      type: 'model-progress',
      id: this.id,
      receivedBytes: Math.max(0, Math.round(this.pull.receivedBytes)),
      totalBytes: this.pull.totalBytes === null ? null : Math.max(0, Math.round(this.pull.totalBytes)),
      bytesPerSecond: Math.max(0, this.bytesPerSecond),
      state,
      ...(message !== undefined && { message }),
    });
  }
}

/**
 * The models panel's backend (models:list, pull, cancel, delete, use): the manifest's models and their state on disk,
 * Ollama's installed models, downloads with throttled progress events (resumable and checksummed for manifest models,
 * through /api/pull for Ollama), and switching the chat model at runtime. A pull that fails sends one `failed` progress
 * event with one short sentence saying what to do; the command itself already answered `{started: true}`.
 */
export class ModelManager {
  private readonly pulls = new Map<string, RunningPull>();
  private readonly location: ModelLocationOptions;
  private closed = false;

  constructor(private readonly options: ModelManagerOptions) {
    this.location = { manifest: options.known.manifest, ...(options.env && { env: options.env }) };
  }

  readonly handlers: CommandHandlers = {
    'models:list': () => this.list(),
    'models:pull': ({ id, source }) => (source === 'ollama' ? this.pullThroughOllama(id) : this.pull(id)),
    'models:cancel': ({ id }) => this.cancel(id),
    'models:delete': ({ id }) => this.delete(id),
    'models:use': (args) => ('path' in args ? this.useFile(args.path) : this.useId(args.id)),
  };

  async list(): Promise<ModelCatalog> {
    const { config, known } = this.options;
    const statuses = describeModels(this.location).models;
    const models: CatalogModel[] = [];
    const activeFile = this.options.llm.active?.modelFile;
    for (const status of statuses) {
      const { entry } = status;
      const fromUser = known.fromUserManifest.has(entry.id);
      // Test-only models are not offered, but the one answering now is always shown.
      const isActive = activeFile !== undefined && status.found && samePath(status.path, activeFile);
      if (entry.testOnly && !fromUser && !isActive) continue;
      models.push(await this.catalogEntry(status, fromUser));
    }
    // The built-in embedder, so the panel can switch back to it; shown first among the embedding models.
    const firstEmbedding = models.findIndex((model) => model.role === 'embedding');
    models.splice(firstEmbedding === -1 ? models.length : firstEmbedding, 0, this.builtInEmbedderEntry());
    if (activeFile !== undefined && !statuses.some((status) => status.found && samePath(status.path, activeFile))) {
      models.push({
        id: path.basename(activeFile),
        role: 'llm',
        source: 'file',
        description: 'A model file you chose.',
        license: null,
        sizeBytes: fileSize(activeFile),
        state: 'active',
        path: activeFile,
        isDefault: false,
        testOnly: false,
      });
    }
    const probe = await probeOllama(config.llm.ollamaHost, config.llm.ollamaModel, config.llm.ollamaProbeTimeoutMs);
    if (probe.reachable) {
      const active = this.options.llm.active;
      for (const name of probe.models) {
        const running = this.pulls.get(name);
        models.push({
          id: name,
          role: 'llm',
          source: 'ollama',
          description: 'Installed in Ollama.',
          license: null,
          sizeBytes: null,
          state: running ? 'downloading' : active?.kind === 'ollama' && isSameOllamaModel(active.modelId, name) ? 'active' : 'ready',
          ...(running && { receivedBytes: Math.round(running.receivedBytes) }),
          isDefault: isSameOllamaModel(name, config.llm.ollamaModel),
          testOnly: false,
        });
      }
    }
    for (const [id, running] of this.pulls) {
      if (running.source !== 'ollama' || models.some((model) => model.source === 'ollama' && model.id === id)) continue;
      models.push({
        id,
        role: 'llm',
        source: 'ollama',
        description: 'Being pulled by Ollama.',
        license: null,
        sizeBytes: running.totalBytes === null ? null : Math.round(running.totalBytes),
        state: 'downloading',
        receivedBytes: Math.round(running.receivedBytes),
        isDefault: false,
        testOnly: false,
      });
    }
    return {
      models,
      ollama: { reachable: probe.reachable, host: config.llm.ollamaHost },
      modelsDir: downloadModelsDir(this.location),
    };
  }

  /** Starts (or resumes) downloading a manifest model; progress follows as model-progress events. */
  async pull(id: string): Promise<{ started: boolean }> {
    const entry = this.requireEntry(id);
    this.refuseSecondPull(id);
    const status = this.statusOf(entry);
    if (status.found && status.sizeMatches !== false) {
      // Already here (downloaded before, or copied by hand): nothing to fetch, but first run still makes it active.
      this.options.emit({ type: 'model-progress', id, receivedBytes: entry.sizeBytes, totalBytes: entry.sizeBytes, bytesPerSecond: 0, state: 'done' });
      void this.activateIfNoneActive(entry.role === 'llm' ? { kind: 'embedded', modelPath: status.path } : undefined);
      return { started: false };
    }
    const destination = downloadTargetPath(entry, this.location);
    this.startPull(id, 'manifest', async (pull, reporter) => {
      const startedAt = performance.now();
      try {
        const result = await this.download(entry, destination, pull, reporter);
        this.options.logger.info(
          { model: id, bytes: result.bytes, resumedFromBytes: result.resumedFromBytes, ms: Math.round(performance.now() - startedAt) },
          'model downloaded',
        );
        return { done: true, then: entry.role === 'llm' ? { kind: 'embedded', modelPath: result.path } : undefined };
      } catch (error) {
        const shape = toErrorShape(error);
        if (shape.code === 'CANCELLED') {
          this.options.logger.info({ model: id, keptBytes: (error as DownloadFailure).keptBytes }, 'model download cancelled');
          return { done: false, cancelled: true };
        }
        this.options.logger.warn({ model: id, code: shape.code, reason: shape.message }, 'model download failed');
        return { done: false, message: downloadFailureSentence(entry, destination, error) };
      }
    });
    return { started: true };
  }

  /** One file with the resumable, checksummed downloader; a folder model file by file with the same downloader. */
  private async download(entry: ModelManifestEntry, destination: string, pull: RunningPull, reporter: ProgressReporter): Promise<{ path: string; bytes: number; resumedFromBytes: number }> {
    const common = {
      destination,
      signal: pull.controller.signal,
      onProgress: (progress: { bytes: number; total: number | null; bytesPerSecond: number }) =>
        reporter.update('downloading', progress.bytes, progress.total ?? entry.sizeBytes, progress.bytesPerSecond),
      onVerifying: () => reporter.update('verifying', entry.sizeBytes, entry.sizeBytes, 0),
      resumeCommand: pullCommand(entry.id),
    };
    if (isFolderEntry(entry)) return downloadModelFolder({ ...common, files: entry.files });
    return downloadModelFile({
      ...common,
      url: entry.url,
      sizeBytes: entry.sizeBytes,
      sha256: entry.sha256,
      ...(entry.sha1 !== undefined && { sha1: entry.sha1 }),
    });
  }

  /** Pulls a model through Ollama's /api/pull, with the same progress events. */
  async pullThroughOllama(model: string): Promise<{ started: boolean }> {
    this.refuseSecondPull(model);
    const host = this.options.config.llm.ollamaHost;
    this.startPull(model, 'ollama', async (pull, reporter) => {
      const startedAt = performance.now();
      try {
        await pullOllamaModel({
          host,
          model,
          signal: pull.controller.signal,
          onProgress: (progress) => {
            const seconds = (performance.now() - startedAt) / 1000;
            const state = /^verifying|^writing/.test(progress.status) ? 'verifying' : 'downloading';
            reporter.update(state, progress.receivedBytes, progress.totalBytes, seconds > 0 ? progress.receivedBytes / seconds : 0);
          },
        });
        this.options.logger.info({ model, ms: Math.round(performance.now() - startedAt) }, 'Ollama model pulled');
        return { done: true, then: { kind: 'ollama', model } };
      } catch (error) {
        if (error instanceof OllamaPullFailure && error.kind === 'cancelled') return { done: false, cancelled: true };
        const shape = toErrorShape(error);
        this.options.logger.warn({ model, code: shape.code, reason: shape.message }, 'Ollama pull failed');
        const message =
          error instanceof OllamaPullFailure && error.kind === 'unreachable'
            ? `Ollama is not reachable at ${host}: start Ollama, or choose a model file.`
            : shape.message;
        return { done: false, message };
      }
    });
    return { started: true };
  }

  /** Stops a download; the partial file stays, so the next pull resumes from it. */
  async cancel(id: string): Promise<{ cancelled: boolean }> {
    const running = this.pulls.get(id);
    if (!running) return { cancelled: false };
    running.controller.abort();
    await running.ended;
    return { cancelled: true };
  }

  /** Deletes a downloaded model (and any partial download) from the models dir; never the model in use. */
  async delete(id: string): Promise<{ deleted: boolean }> {
    const entry = this.requireEntry(id);
    const status = this.statusOf(entry);
    if (status.found && this.isActive(entry, status)) {
      throw new AgentError('MODEL_IN_USE', `${id} is the model in use now; choose another one before deleting it.`);
    }
    await this.cancel(id);
    const destination = downloadTargetPath(entry, this.location);
    let deleted = false;
    // A folder model: its folder and its interrupted download's `.partial` folder.
    const leftovers = isFolderEntry(entry) ? [destination, partialPath(destination)] : [destination, partialPath(destination), rejectedPath(destination)];
    for (const file of leftovers) {
      try {
        await stat(file);
        await rm(file, { force: true, recursive: isFolderEntry(entry) });
        deleted = true;
      } catch {
        // Not there.
      }
    }
    if (deleted) this.options.logger.info({ model: id }, 'model deleted');
    return { deleted };
  }

  /**
   * Makes a manifest model (chat or Whisper) or an Ollama model the active one, and saves the choice. An embedding model
   * (or the built-in `use-lite`) is saved as the document embedder for the next start, and `message` says so.
   */
  async useId(id: string): Promise<{ role: CatalogModel['role']; model: string; message?: string }> {
    if (id === BUILT_IN_EMBEDDER) return this.useEmbedder(BUILT_IN_EMBEDDER);
    const entry = findManifestEntry(this.options.known.manifest, id);
    if (entry) {
      const status = this.statusOf(entry);
      if (!status.found || status.sizeMatches === false) {
        const copy = isFolderEntry(entry) ? `copy its folder to ${path.dirname(downloadTargetPath(entry, this.location))}` : `copy ${path.basename(status.path)} to ${path.dirname(downloadTargetPath(entry, this.location))}`;
        throw new AgentError('MODEL_MISSING', `${id} is not downloaded yet: download it, or ${copy}.`);
      }
      if (entry.role === 'embedding') {
        try {
          inspectOnnxModelFolder(status.path);
        } catch (error) {
          throw new AgentError('MODEL_CORRUPT', toErrorShape(error).message);
        }
        return this.useEmbedder(entry.id);
      }
      if (entry.role === 'vad') throw new AgentError('INVALID_MESSAGE', `${id} finds speech in audio; there is no other to choose.`);
      if (entry.role === 'stt-whisper') {
        // The voice session loads its recogniser at start; the choice applies from the next start.
        this.options.settings.update({ whisperModel: id });
        return { role: 'stt-whisper', model: id };
      }
      const provider = await this.options.llm.use({ kind: 'embedded', modelPath: status.path });
      this.saveChatChoice({ llmProvider: 'embedded', llmModel: id });
      return { role: 'llm', model: provider.modelId };
    }
    const { config } = this.options;
    const probe = await probeOllama(config.llm.ollamaHost, id, config.llm.ollamaProbeTimeoutMs);
    if (probe.hasModel) {
      const provider = await this.options.llm.use({ kind: 'ollama', model: id });
      this.saveChatChoice({ llmProvider: 'ollama', ollamaModel: id });
      return { role: 'llm', model: provider.modelId };
    }
    throw this.unknownModel(id, probe.reachable ? probe.models : []);
  }

  /**
   * Saves the document embedder for the next start (the library loads its embedder at start, and embeds every document
   * again, with progress, when the embedder changed). ASSISTANT_EMBEDDER still wins while it is set.
   */
  private useEmbedder(choice: string): { role: 'embedding'; model: string; message: string } {
    this.options.settings.update({ embedder: choice });
    const overriddenBy = this.options.settings.view().overriddenBy['embedder'];
    let message: string;
    if (overriddenBy !== undefined) message = `${choice} is saved as the document embedder, but ${overriddenBy} is set and chooses the embedder while it is.`;
    else if (this.isRunningEmbedder(choice)) message = `${choice} is the document embedder already.`;
    else message = `${choice} becomes the document embedder at the next start; your documents are then embedded again, with progress.`;
    return { role: 'embedding', model: choice, message };
  }

  /** The embedder this launch runs (ASSISTANT_EMBEDDER or the saved choice at start), as the setting names it. */
  private runningEmbedderChoice(): string | undefined {
    const { documents } = this.options.config;
    if (!documents.enabled) return undefined;
    return documents.embedder?.trim() || BUILT_IN_EMBEDDER;
  }

  /** The embedder the next start runs: ASSISTANT_EMBEDDER while set, else the saved choice. */
  private nextEmbedderChoice(): string {
    if (this.options.settings.view().overriddenBy['embedder'] !== undefined) return this.options.config.documents.embedder?.trim() || BUILT_IN_EMBEDDER;
    return this.options.settings.saved.embedder?.trim() || BUILT_IN_EMBEDDER;
  }

  private isRunningEmbedder(id: string, folder?: string): boolean {
    const running = this.runningEmbedderChoice();
    return running !== undefined && sameEmbedder(running, id, folder);
  }

  private builtInEmbedderEntry(): CatalogModel {
    const running = this.isRunningEmbedder(BUILT_IN_EMBEDDER);
    return {
      id: BUILT_IN_EMBEDDER,
      role: 'embedding',
      source: 'built-in',
      description: 'Universal Sentence Encoder lite, built in: finds passages in your documents by meaning, no download needed.',
      license: 'Apache-2.0',
      sizeBytes: null,
      state: running ? 'active' : 'ready',
      ...(!running && sameEmbedder(this.nextEmbedderChoice(), BUILT_IN_EMBEDDER) && { nextStart: true }),
      isDefault: true,
      testOnly: false,
    };
  }

  /**
   * Checks the model choices of a settings:set before they are saved, like models:use does: a manifest id of the right
   * role, or a file that passes the GGUF (chat) or ggml (Whisper) header checks, or a folder that holds an ONNX model
   * (embedder). Returns the patch with paths made absolute; throws NOT_FOUND, MODEL_MISSING or MODEL_CORRUPT naming the
   * setting otherwise.
   */
  async checkSettingsPatch<T extends { llmModel?: string; whisperModel?: string; llmThreads?: number; embedder?: string }>(patch: T): Promise<T> {
    const checked = { ...patch };
    if (patch.llmThreads !== undefined && patch.llmThreads > MAX_LLM_THREADS) {
      throw new AgentError('INVALID_MESSAGE', `llmThreads ${patch.llmThreads} is more than this machine can use; choose 1 to ${MAX_LLM_THREADS}.`);
    }
    if (patch.llmModel !== undefined) checked.llmModel = await this.checkModelChoice('llm', 'llmModel', patch.llmModel);
    if (patch.whisperModel !== undefined) checked.whisperModel = await this.checkModelChoice('stt-whisper', 'whisperModel', patch.whisperModel);
    if (patch.embedder !== undefined) checked.embedder = this.checkEmbedderChoice(patch.embedder);
    return checked;
  }

  /** `use-lite`, an embedding model id of the manifest, or a folder that holds an ONNX embedding model (made absolute). */
  private checkEmbedderChoice(value: string): string {
    const choice = value.trim();
    if (choice.toLowerCase() === BUILT_IN_EMBEDDER) return BUILT_IN_EMBEDDER;
    const entry = findManifestEntry(this.options.known.manifest, choice.toLowerCase());
    if (entry) {
      if (entry.role !== 'embedding') throw new AgentError('INVALID_MESSAGE', `embedder: ${choice} is a ${entry.role} model, not an embedding model.`);
      return entry.id;
    }
    if (!/[/\\]/.test(choice) && !choice.startsWith('.') && !choice.startsWith('~')) {
      const ids = [BUILT_IN_EMBEDDER, ...this.options.known.manifest.filter((known) => known.role === 'embedding' && !known.testOnly).map((known) => known.id)];
      throw new AgentError('NOT_FOUND', `embedder: unknown embedder "${choice}". Known: ${ids.join(', ')}; or give the folder of an ONNX embedding model.`);
    }
    const folder = path.resolve(choice.replace(/^~(?=$|[/\\])/, os.homedir()));
    try {
      inspectOnnxModelFolder(folder);
    } catch (error) {
      throw new AgentError('MODEL_CORRUPT', `embedder was not saved: ${toErrorShape(error).message}`);
    }
    return folder;
  }

  private async checkModelChoice(role: 'llm' | 'stt-whisper', setting: string, value: string): Promise<string> {
    const entry = findManifestEntry(this.options.known.manifest, value);
    if (entry) {
      if (entry.role !== role) throw new AgentError('INVALID_MESSAGE', `${setting}: ${value} is a ${entry.role} model, not a ${role === 'llm' ? 'chat' : 'Whisper'} model.`);
      return value;
    }
    const looksLikePath = value.includes('/') || value.includes('\\') || /\.(gguf|bin)$/i.test(value);
    if (!looksLikePath) {
      const ids = this.options.known.manifest.filter((known) => known.role === role && !known.testOnly).map((known) => known.id);
      throw new AgentError('NOT_FOUND', `${setting}: unknown model id "${value}". Known models: ${ids.join(', ')}; or give the path of a model file.`);
    }
    const file = path.resolve(value);
    try {
      if (role === 'llm') await checkGgufFile(file, () => 'Choose a .gguf chat model file, or a model id from the models list.');
      else await checkWhisperModelFile(file);
    } catch (error) {
      const shape = toErrorShape(error);
      throw new AgentError(shape.code, `${setting} was not saved: ${shape.message}`);
    }
    return file;
  }

  /** Makes a GGUF file the chat model; a file that is not a usable GGUF gets MODEL_MISSING or MODEL_CORRUPT. */
  async useFile(file: string): Promise<{ role: 'llm'; model: string }> {
    const modelPath = path.resolve(file);
    const provider = await this.options.llm.use({ kind: 'embedded', modelPath });
    this.saveChatChoice({ llmProvider: 'embedded', llmModel: modelPath });
    return { role: 'llm', model: provider.modelId };
  }

  /** Stops every download (their partial files stay) and waits for them to end. */
  async close(): Promise<void> {
    this.closed = true;
    const running = [...this.pulls.values()];
    for (const pull of running) pull.controller.abort();
    await Promise.all(running.map((pull) => pull.ended));
  }

  private startPull(
    id: string,
    source: RunningPull['source'],
    transfer: (pull: RunningPull, reporter: ProgressReporter) => Promise<PullOutcome>,
  ): void {
    const pull: RunningPull = { source, controller: new AbortController(), receivedBytes: 0, totalBytes: null, ended: Promise.resolve() };
    const reporter = new ProgressReporter(id, pull, this.options.emit, this.options.progressIntervalMs ?? 200);
    this.pulls.set(id, pull);
    pull.ended = (async () => {
      const outcome: PullOutcome = await transfer(pull, reporter).catch((error: unknown) => ({ done: false, message: toErrorShape(error).message }));
      // Off the list before the last event, so a models:list or a new pull right after it sees the pull as over.
      this.pulls.delete(id);
      if (outcome.done) {
        reporter.finish('done');
        if (!this.closed) await this.activateIfNoneActive(outcome.then);
      } else if (outcome.cancelled) {
        reporter.finish('cancelled');
      } else {
        reporter.finish('failed', outcome.message);
      }
    })();
  }

  /** First run: a chat model that arrives while none is loaded becomes the active one, so the chat works at once. */
  private async activateIfNoneActive(target: LlmModelTarget | undefined): Promise<void> {
    if (target === undefined) return;
    await this.options.llm.start();
    if (this.options.llm.active) return;
    try {
      await this.options.llm.use(target);
    } catch (error) {
      const shape = toErrorShape(error);
      this.options.logger.error({ code: shape.code, reason: shape.message }, 'the downloaded model could not be loaded');
      this.options.emit({ type: 'notice', level: 'warning', message: shape.message });
    }
  }

  private saveChatChoice(patch: { llmProvider: 'embedded' | 'ollama'; llmModel?: string; ollamaModel?: string }): void {
    try {
      this.options.settings.update(patch);
    } catch (error) {
      // The model is in use now; only keeping the choice for the next start failed.
      const shape = toErrorShape(error);
      this.options.logger.warn({ code: shape.code, reason: shape.message }, 'could not save the chosen model');
      this.options.emit({ type: 'notice', level: 'warning', message: shape.message });
    }
  }

  private async catalogEntry(status: ModelStatus, fromUser: boolean): Promise<CatalogModel> {
    const { entry } = status;
    const running = this.pulls.get(entry.id);
    const present = status.found && status.sizeMatches !== false;
    const target = downloadTargetPath(entry, this.location);
    const partialBytes = running ? undefined : isFolderEntry(entry) ? await partialFolderBytes(target, entry.files) : fileSize(partialPath(target));
    const state = running ? 'downloading' : !present ? 'missing' : this.isActive(entry, status) ? 'active' : 'ready';
    const receivedBytes = running ? running.receivedBytes : state === 'missing' && partialBytes ? partialBytes : undefined;
    const nextStart = entry.role === 'embedding' && state === 'ready' && sameEmbedder(this.nextEmbedderChoice(), entry.id, status.path);
    return {
      id: entry.id,
      role: entry.role,
      source: fromUser ? 'user-manifest' : 'manifest',
      description: entry.description,
      license: entry.license,
      sizeBytes: entry.sizeBytes,
      state,
      ...(receivedBytes !== undefined && { receivedBytes: Math.round(receivedBytes) }),
      path: present ? status.path : target,
      ...(nextStart && { nextStart: true }),
      isDefault: entry.default === true,
      testOnly: entry.testOnly === true,
    };
  }

  private isActive(entry: ModelManifestEntry, status: ModelStatus): boolean {
    if (entry.role === 'llm') {
      const activeFile = this.options.llm.active?.modelFile;
      return activeFile !== undefined && samePath(activeFile, status.path);
    }
    if (entry.role === 'stt-whisper') {
      const { config, settings } = this.options;
      if (!config.voice.enabled) return false;
      const effective = settings.view().effective;
      if (effective.stt === 'sphinx') return false;
      return effective.whisperModel === entry.id || (effective.whisperModel !== null && samePath(effective.whisperModel, status.path));
    }
    if (entry.role === 'embedding') return this.isRunningEmbedder(entry.id, status.path);
    return status.found;
  }

  private statusOf(entry: ModelManifestEntry): ModelStatus {
    const status = describeModels({ ...this.location, manifest: [entry] }).models[0];
    if (!status) throw new AgentError('INTERNAL', `No status for ${entry.id}.`);
    return status;
  }

  private requireEntry(id: string): ModelManifestEntry {
    const entry = findManifestEntry(this.options.known.manifest, id);
    if (!entry) throw this.unknownModel(id, []);
    return entry;
  }

  private refuseSecondPull(id: string): void {
    const running = this.pulls.get(id);
    if (!running) return;
    const percent = running.totalBytes ? ` (${Math.floor((running.receivedBytes / running.totalBytes) * 100)} %)` : '';
    throw new AgentError('ALREADY_DOWNLOADING', `${id} is already downloading${percent}.`);
  }

  private unknownModel(id: string, ollamaModels: readonly string[]): AgentError {
    const ids = this.options.known.manifest
      .filter((entry) => !entry.testOnly || this.options.known.fromUserManifest.has(entry.id))
      .map((entry) => entry.id)
      .concat(ollamaModels);
    return new AgentError('NOT_FOUND', `Unknown model "${id}". Known models: ${ids.join(', ')}.`);
  }
}

/**
 * One short sentence for a failed download: what went wrong, and what to do instead, naming the file and the folder
 * to copy it to (offline), or "choose a model file" for a chat model. The full story is in the log.
 */
export function downloadFailureSentence(entry: ModelManifestEntry, destination: string, error: unknown): string {
  const host = hostOf(isFolderEntry(entry) ? (entry.files[0]?.url ?? '') : entry.url);
  const instead = isFolderEntry(entry)
    ? `copy the ${path.basename(destination)} folder (${entry.files.map((file) => file.path).join(', ')}) to ${path.dirname(destination)}`
    : `copy ${path.basename(destination)} to ${path.dirname(destination)}${entry.role === 'llm' ? ', or choose a model file' : ''}`;
  if (error instanceof DownloadFailure) {
    switch (error.kind) {
      case 'unreachable':
        return `No connection to ${host}: ${instead}.`;
      case 'http-status':
        return `${host} answered HTTP ${error.httpStatus ?? '?'} for ${entry.id}: ${instead}.`;
      case 'size-mismatch':
        return `${error.message}`;
      case 'timeout':
      case 'interrupted': {
        const percent = Math.floor((error.keptBytes / entry.sizeBytes) * 100);
        return `The download from ${host} stopped at ${percent} % (Download resumes it): ${instead}.`;
      }
      default:
        break;
    }
  }
  // Another pull (in this or another process, maybe of another id sharing the file) is writing it: say so, nothing more.
  if (toErrorShape(error).code === 'ALREADY_DOWNLOADING') return toErrorShape(error).message;
  if (toErrorShape(error).code === 'CHECKSUM_MISMATCH') {
    return `The file from ${host} is not the expected ${entry.id} (checksum mismatch) and was set aside: download it again, or ${instead}.`;
  }
  return `The download of ${entry.id} failed: ${instead}.`;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** Whether an embedder setting (an id, or a folder) names this model (its id, or the folder it is in). */
function sameEmbedder(choice: string, id: string, folder?: string): boolean {
  const value = choice.trim();
  if (value.toLowerCase() === id) return true;
  if (folder === undefined || !(/[/\\]/.test(value) || value.startsWith('.') || value.startsWith('~'))) return false;
  return samePath(value.replace(/^~(?=$|[/\\])/, os.homedir()), folder);
}

function samePath(a: string, b: string): boolean {
  return path.resolve(a) === path.resolve(b);
}

function fileSize(file: string): number | null {
  try {
    return statSync(file).size;
  } catch {
    return null;
  }
}
