import path from 'node:path';
import {
  getLlama,
  LlamaChatSession,
  type ChatHistoryItem,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
} from 'node-llama-cpp';
import { LRUCache } from 'lru-cache';
import PQueue from 'p-queue';
import { AgentError } from '../../../src-shared/contract/index.js';
import type { LlmChatMessage, LlmGenerateRequest, LlmGenerateResult, LlmPrefillRequest, LlmProvider, LlmSampling } from './llmProvider.js';
import { GgufProblem, inspectGguf, modelPathProblem } from './modelFileCheck.node.js';

export interface EmbeddedLlamaOptions {
  modelPath: string;
  /** CPU threads for inference. Explicit on purpose: llama.cpp's default oversubscribes small machines badly. */
  threads: number;
  /** Upper bound on the context; the model's training context caps it. */
  contextSize: number;
  /** The fix to suggest for a model file that cannot be used (the app names the catalogue's pull command). */
  fixHint?: (modelPath: string) => string;
  /**
   * Checks the file's contents (the app: a manifest model's sha256, hashed once per path, size and mtime) and throws
   * when they are wrong. It runs beside llama.cpp's load, so a first start waits for the longer of the two, not both.
   */
  verifyFile?: (modelPath: string) => Promise<void>;
}

let sharedLlama: Promise<Llama> | undefined;
/** One llama.cpp backend per process; loading it costs ~0.8 s, so it is shared by every model. */
function loadLlamaBackend(): Promise<Llama> {
  sharedLlama ??= getLlama({ gpu: false, build: 'never', logLevel: 'error' as never, progressLogs: false });
  return sharedLlama;
}

const errorLogCollectors = new Set<string[]>();
let errorLogTapped = false;
/** Collects llama.cpp's error log lines until `stop()`; the logger is wrapped once, so concurrent loads do not unwrap each other. */
function collectErrorLogs(llama: Llama): { lines: string[]; stop(): void } {
  if (!errorLogTapped) {
    errorLogTapped = true;
    const logger = llama.logger;
    llama.logger = (level, message) => {
      if (level === 'error' || level === 'fatal') for (const lines of errorLogCollectors) lines.push(message);
      logger(level, message);
    };
  }
  const lines: string[] = [];
  errorLogCollectors.add(lines);
  return { lines, stop: () => errorLogCollectors.delete(lines) };
}

const FLAGS = '--model / ASSISTANT_LLM_MODEL';

/** Without a model catalogue: what to do with a model file that cannot be used. */
function genericFixHint(): string {
  return `Download a chat model with \`npx assistant models pull <id>\` (see \`npx assistant models list\`), or point ${FLAGS} at a .gguf file.`;
}

export async function checkGgufFile(modelPath: string, fixHint: (modelPath: string) => string = genericFixHint): Promise<void> {
  const problem = modelPathProblem(modelPath, { extension: '.gguf', needs: `${FLAGS} needs a .gguf file` });
  if (problem !== undefined) {
    const fix = problem.kind === 'directory' ? '' : ` ${fixHint(modelPath)}`;
    throw new AgentError(problem.kind === 'unusable' ? 'MODEL_CORRUPT' : 'MODEL_MISSING', `${problem.reason}.${fix}`);
  }
  try {
    await inspectGguf(modelPath);
  } catch (error) {
    if (!(error instanceof GgufProblem)) throw unusableModel(modelPath, error, fixHint);
    const fix = error.kind === 'unreadable' ? `Check the file's permissions (e.g. chmod a+r), or point ${FLAGS} at another .gguf file.` : fixHint(modelPath);
    throw new AgentError('MODEL_CORRUPT', `${modelPath} is not a usable GGUF model (${error.reason}). ${fix}`);
  }
}

/** An error from llama.cpp/node-llama-cpp while loading, as a message that names the path and never leaks internal JS errors. */
function unusableModel(modelPath: string, error: unknown, fixHint: (modelPath: string) => string): AgentError {
  return new AgentError('MODEL_CORRUPT', `${modelPath} is not a usable GGUF model (llama.cpp could not load it: ${loadErrorReason(error)}). ${fixHint(modelPath)}`);
}

export function loadErrorReason(error: unknown): string {
  const internal = error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError || error instanceof SyntaxError;
  const text = error instanceof Error ? error.message : String(error);
  const firstLine = text.split('\n').find((line) => line.trim() !== '' && !/^\s+at /.test(line))?.trim() ?? '';
  if (internal || firstLine === '') return 'it is damaged, or in a format this llama.cpp does not support';
  return firstLine.length > 200 ? `${firstLine.slice(0, 200)}…` : firstLine;
}

/**
 * node-llama-cpp in-process. The model is loaded and warmed in `load()` and stays loaded; one context sequence is kept
 * across turns, so a follow-up only prefills the tokens that differ from what the sequence already holds.
 */
export class EmbeddedLlamaProvider implements LlmProvider {
  readonly kind = 'embedded' as const;
  readonly continuesAnswers = true;
  readonly modelId: string;
  readonly modelFile: string;
  contextTokens: number;
  private model: LlamaModel | undefined;
  private context: LlamaContext | undefined;
  private sequence: LlamaContextSequence | undefined;
  private session: LlamaChatSession | undefined;
  /**
   * The conversation the session holds after the last turn (system prompt, messages, last answer). When the next
   * request continues exactly that, the session's own history is kept: re-setting it from stored text would
   * re-tokenize the model's last answer, which often differs from the tokens it generated and defeats the reuse.
   */
  private heldConversation: string | undefined;
  /** Recent texts' token counts: every turn counts the system prompt and the history again to fit the window. */
  private readonly tokenCounts = new LRUCache<string, number>({ maxSize: 1_000_000, sizeCalculation: (_count, text) => text.length + 1 });
  /** One sequence means one generation at a time; turns queue here. */
  private readonly queue = new PQueue({ concurrency: 1 });

  private readonly fixHint: (modelPath: string) => string;

  constructor(private readonly options: EmbeddedLlamaOptions) {
    this.fixHint = options.fixHint ?? genericFixHint;
    this.modelId = path.basename(options.modelPath);
    this.modelFile = options.modelPath;
    this.contextTokens = options.contextSize;
  }

  async load(): Promise<void> {
    const { modelPath } = this.options;
    await checkGgufFile(modelPath, this.fixHint);
    // Settled to its error (not rejected) so that it may fail while llama.cpp is still loading without going unhandled.
    const verified = this.options.verifyFile?.(modelPath).then(() => undefined, (error: unknown) => error);
    const llama = await loadLlamaBackend();
    // llama.cpp logs why a load failed ("unknown model architecture: ..."); the exception only says "Failed to load model".
    const loadLog = collectErrorLogs(llama);
    try {
      this.model = await llama.loadModel({ modelPath });
    } catch (error) {
      await new Promise((resolve) => setImmediate(resolve)); // native log lines arrive asynchronously
      const logged = loadLog.lines.map((line) => /error loading model: (.+)$/.exec(line.trim())?.[1]).find((why) => why !== undefined);
      // A file that is not what it should be explains a failed load better than llama.cpp's reason does.
      const notVerified = await verified;
      if (notVerified !== undefined) throw notVerified;
      throw unusableModel(modelPath, logged === undefined ? error : new Error(logged), this.fixHint);
    } finally {
      loadLog.stop();
    }
    const notVerified = await verified;
    if (notVerified !== undefined) {
      await this.dispose().catch(() => undefined);
      throw notVerified;
    }
    try {
      this.contextTokens = Math.min(this.options.contextSize, this.model.trainContextSize);
      this.context = await this.model.createContext({ contextSize: this.contextTokens, threads: this.options.threads });
      this.sequence = this.context.getSequence();
      this.session = new LlamaChatSession({ contextSequence: this.sequence, autoDisposeSequence: false });
      // Warm-up: the first evaluation allocates buffers and pages the weights in; do it before the user asks.
      await this.session.prompt('Hello', { maxTokens: 2 });
      this.session.resetChatHistory();
    } catch (error) {
      // The start failure below is what matters; the provider manager disposes of this provider again and logs
      // that if it fails.
      await this.dispose().catch(() => undefined);
      throw new AgentError(
        'MODEL_NOT_READY',
        `${modelPath} loaded, but llama.cpp could not start it (${loadErrorReason(error)}). ` +
          `Try fewer threads or a smaller context (ASSISTANT_LLM_CONTEXT), or point ${FLAGS} at a smaller .gguf model.`,
      );
    }
  }

  countTokens(text: string): number {
    if (!this.model) return Math.ceil(text.length / 3);
    let count = this.tokenCounts.get(text);
    if (count === undefined) {
      count = this.model.tokenize(text).length;
      this.tokenCounts.set(text, count);
    }
    return count;
  }

  generate(request: LlmGenerateRequest): Promise<LlmGenerateResult> {
    return this.queue.add(() => this.generateNow(request));
  }

  private async generateNow(request: LlmGenerateRequest): Promise<LlmGenerateResult> {
    const session = this.session;
    const sequence = this.sequence;
    if (!session || !sequence) throw new AgentError('MODEL_NOT_READY', 'The embedded model is not loaded yet.');
    if (request.signal.aborted) return { text: request.continueFrom ?? '', tokens: 0, promptTokens: 0, aborted: true };

    this.useConversation(session, request);
    this.heldConversation = undefined;
    const inputBefore = sequence.tokenMeter.usedInputTokens;
    const outputBefore = sequence.tokenMeter.usedOutputTokens;
    let text = request.continueFrom ?? '';
    // node-llama-cpp hands the response prefix to onTextChunk first; it was streamed before.
    let prefixToSkip = request.continueFrom ?? '';
    let result: Awaited<ReturnType<LlamaChatSession['promptWithMeta']>>;
    try {
      result = await session.promptWithMeta(request.question, {
        maxTokens: request.maxTokens,
        signal: request.signal,
        stopOnAbortSignal: true,
        ...promptSampling(request.sampling),
        ...(request.continueFrom !== undefined && request.continueFrom !== '' && { responsePrefix: request.continueFrom }),
        onTextChunk: (chunk) => {
          if (prefixToSkip !== '' && chunk === prefixToSkip) {
            prefixToSkip = '';
            return;
          }
          prefixToSkip = '';
          text += chunk;
          request.onToken(chunk);
        },
      });
    } catch (error) {
      if (request.signal.aborted) {
        return {
          text,
          tokens: sequence.tokenMeter.usedOutputTokens - outputBefore,
          promptTokens: sequence.tokenMeter.usedInputTokens - inputBefore,
          aborted: true,
        };
      }
      throw new AgentError('GENERATION_FAILED', `The embedded model failed while answering: ${(error as Error).message}`);
    }
    const tokens = sequence.tokenMeter.usedOutputTokens - outputBefore;
    const aborted = result.stopReason === 'abort' || request.signal.aborted;
    if (!aborted && tokens > 0 && !hasVisibleText(result.response)) {
      // Damaged weights (NaNs) make llama.cpp pick one token, e.g. <unk>, that decodes to nothing, up to maxTokens.
      throw new AgentError(
        'GENERATION_FAILED',
        `${this.options.modelPath} generated ${tokens} tokens but no text, which a working model does not do: the file is probably damaged. ` +
          `Check it with \`npx assistant models verify ${shellQuoted(this.options.modelPath)}\`. ${this.fixHint(this.options.modelPath)}`,
      );
    }
    this.heldConversation = conversationFingerprint(request.systemPrompt, [
      ...request.history,
      { role: 'user', text: request.question },
      { role: 'assistant', text: result.responseText },
    ]);
    const before = request.continueFrom ?? '';
    const answer = result.responseText.startsWith(before) ? result.responseText : before + result.responseText;
    return { text: answer, tokens, promptTokens: sequence.tokenMeter.usedInputTokens - inputBefore, aborted };
  }

  prefill(request: LlmPrefillRequest): Promise<void> {
    return this.queue.add(async () => {
      const session = this.session;
      if (!session || request.signal.aborted) return;
      this.useConversation(session, request);
      try {
        // Evaluates the question's tokens after the history; the chat history itself is left as it is.
        await session.preloadPrompt(request.question, { signal: request.signal });
      } catch {
        // Aborted, or it failed: generate reads the prompt itself.
      }
    });
  }

  /**
   * Makes the session's chat history the request's system prompt and history, unless it already is (the previous
   * turn of the same conversation, or a prefill): the sequence keeps whatever token prefix is common either way.
   */
  private useConversation(session: LlamaChatSession, request: Pick<LlmGenerateRequest, 'systemPrompt' | 'history'>): void {
    const requested = conversationFingerprint(request.systemPrompt, request.history);
    if (requested === this.heldConversation) return;
    const history: ChatHistoryItem[] = [{ type: 'system', text: request.systemPrompt }];
    for (const message of request.history) {
      history.push(message.role === 'user' ? { type: 'user', text: message.text } : { type: 'model', response: [message.text] });
    }
    session.setChatHistory(history);
    this.heldConversation = requested;
  }

  async dispose(): Promise<void> {
    await this.queue.add(async () => {
      this.heldConversation = undefined;
      this.session?.dispose({ disposeSequence: true });
      await this.context?.dispose();
      await this.model?.dispose();
      this.session = undefined;
      this.sequence = undefined;
      this.context = undefined;
      this.model = undefined;
    });
  }
}

/**
 * The temperature of a request that gives a seed but no temperature. node-llama-cpp's default is 0 (always the likeliest
 * token), under which a seed changes nothing, so a model listed twice in a council would answer twice the same; 0.8 is
 * node-llama-cpp's suggested temperature and Ollama's default.
 */
export const SEEDED_DEFAULT_TEMPERATURE = 0.8;

/** node-llama-cpp's prompt options for a request's sampling (per prompt call: the chat session itself is shared). */
function promptSampling(sampling: LlmSampling | undefined): { temperature?: number; seed?: number } {
  if (sampling === undefined) return {};
  const options: { temperature?: number; seed?: number } = {};
  const temperature = sampling.temperature ?? (sampling.seed !== undefined ? SEEDED_DEFAULT_TEMPERATURE : undefined);
  if (temperature !== undefined) options.temperature = temperature;
  if (sampling.seed !== undefined) options.seed = sampling.seed;
  return options;
}

/** Whether an answer holds anything a person can read: its text, or a thought segment's (whitespace, control and U+FFFD do not count). */
export function hasVisibleText(response: Awaited<ReturnType<LlamaChatSession['promptWithMeta']>>['response']): boolean {
  const visible = /[^\s\p{C}\uFFFD]/u;
  return response.some((item) => (typeof item === 'string' ? visible.test(item) : item.type === 'segment' && visible.test(item.text)));
}

function shellQuoted(file: string): string {
  return /^[\w@%+=:,./-]+$/.test(file) ? file : `'${file.replace(/'/g, `'\\''`)}'`;
}

function conversationFingerprint(systemPrompt: string, messages: readonly LlmChatMessage[]): string {
  return JSON.stringify([systemPrompt, ...messages.map((message) => [message.role, message.text])]);
}
