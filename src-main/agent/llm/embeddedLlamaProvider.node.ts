import { open, stat } from 'node:fs/promises';
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
import { AgentError } from '../../../src-shared/contract/index.js';
import type { LlmChatMessage, LlmGenerateRequest, LlmGenerateResult, LlmProvider } from './llmProvider.js';
import { SerialQueue } from '../util/serialQueue.js';

export interface EmbeddedLlamaOptions {
  modelPath: string;
  /** CPU threads for inference. Explicit on purpose: llama.cpp's default oversubscribes small machines badly. */
  threads: number;
  /** Upper bound on the context; the model's training context caps it. */
  contextSize: number;
}

let sharedLlama: Promise<Llama> | undefined;
/** One llama.cpp backend per process; loading it costs ~0.8 s, so it is shared by every model. */
function loadLlamaBackend(): Promise<Llama> {
  sharedLlama ??= getLlama({ gpu: false, build: 'never', logLevel: 'error' as never, progressLogs: false });
  return sharedLlama;
}

const pullHint = 'Run `npx assistant models pull <id>` (see `npx assistant models list`), or point --model / ASSISTANT_LLM_MODEL at a .gguf file.';

/** Checks the file before handing it to llama.cpp, so a missing or corrupt model gets an error that names the path and the fix. */
export async function checkGgufFile(modelPath: string): Promise<void> {
  let size: number;
  try {
    size = (await stat(modelPath)).size;
  } catch {
    throw new AgentError('MODEL_MISSING', `Model file not found: ${modelPath}. ${pullHint}`);
  }
  const handle = await open(modelPath, 'r');
  try {
    const magic = Buffer.alloc(4);
    await handle.read(magic, 0, 4, 0);
    if (size < 32 || magic.toString('latin1') !== 'GGUF') {
      throw new AgentError(
        'MODEL_CORRUPT',
        `Model file is not a valid GGUF file: ${modelPath} (${size} bytes). Delete it and download it again: ${pullHint}`,
      );
    }
  } finally {
    await handle.close();
  }
}

/**
 * node-llama-cpp in-process. The model is loaded and warmed in `load()` and stays loaded; one context sequence is kept
 * across turns, so a follow-up only prefills the tokens that differ from what the sequence already holds.
 */
export class EmbeddedLlamaProvider implements LlmProvider {
  readonly kind = 'embedded' as const;
  readonly modelId: string;
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
  /** One sequence means one generation at a time; turns queue here. */
  private readonly queue = new SerialQueue();

  constructor(private readonly options: EmbeddedLlamaOptions) {
    this.modelId = path.basename(options.modelPath);
    this.contextTokens = options.contextSize;
  }

  async load(): Promise<void> {
    await checkGgufFile(this.options.modelPath);
    const llama = await loadLlamaBackend();
    try {
      this.model = await llama.loadModel({ modelPath: this.options.modelPath });
    } catch (error) {
      throw new AgentError(
        'MODEL_CORRUPT',
        `llama.cpp could not load ${this.options.modelPath}: ${(error as Error).message}. ${pullHint}`,
      );
    }
    this.contextTokens = Math.min(this.options.contextSize, this.model.trainContextSize);
    this.context = await this.model.createContext({ contextSize: this.contextTokens, threads: this.options.threads });
    this.sequence = this.context.getSequence();
    this.session = new LlamaChatSession({ contextSequence: this.sequence, autoDisposeSequence: false });
    // Warm-up: the first evaluation allocates buffers and pages the weights in; do it before the user asks.
    await this.session.prompt('Hello', { maxTokens: 2 });
    this.session.resetChatHistory();
  }

  countTokens(text: string): number {
    if (!this.model) return Math.ceil(text.length / 3);
    return this.model.tokenize(text).length;
  }

  generate(request: LlmGenerateRequest): Promise<LlmGenerateResult> {
    return this.queue.run(() => this.generateNow(request));
  }

  private async generateNow(request: LlmGenerateRequest): Promise<LlmGenerateResult> {
    const session = this.session;
    const sequence = this.sequence;
    if (!session || !sequence) throw new AgentError('MODEL_NOT_READY', 'The embedded model is not loaded yet.');
    if (request.signal.aborted) return { text: '', tokens: 0, promptTokens: 0, aborted: true };

    const requested = conversationFingerprint(request.systemPrompt, request.history);
    if (requested !== this.heldConversation) {
      const history: ChatHistoryItem[] = [{ type: 'system', text: request.systemPrompt }];
      for (const message of request.history) {
        history.push(message.role === 'user' ? { type: 'user', text: message.text } : { type: 'model', response: [message.text] });
      }
      // Another conversation, or a cut history: the sequence still keeps whatever token prefix is common.
      session.setChatHistory(history);
    }
    this.heldConversation = undefined;
    const inputBefore = sequence.tokenMeter.usedInputTokens;
    const outputBefore = sequence.tokenMeter.usedOutputTokens;
    let text = '';
    try {
      const result = await session.promptWithMeta(request.question, {
        maxTokens: request.maxTokens,
        signal: request.signal,
        stopOnAbortSignal: true,
        onTextChunk: (chunk) => {
          text += chunk;
          request.onToken(chunk);
        },
      });
      this.heldConversation = conversationFingerprint(request.systemPrompt, [
        ...request.history,
        { role: 'user', text: request.question },
        { role: 'assistant', text: result.responseText },
      ]);
      return {
        text: result.responseText,
        tokens: sequence.tokenMeter.usedOutputTokens - outputBefore,
        promptTokens: sequence.tokenMeter.usedInputTokens - inputBefore,
        aborted: result.stopReason === 'abort' || request.signal.aborted,
      };
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
  }

  async dispose(): Promise<void> {
    await this.queue.run(async () => {
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

function conversationFingerprint(systemPrompt: string, messages: readonly LlmChatMessage[]): string {
  return JSON.stringify([systemPrompt, ...messages.map((message) => [message.role, message.text])]);
}
