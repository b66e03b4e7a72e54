import { open, stat } from 'node:fs/promises';
import { routeWhisperNativeLog } from '../whisperNativeLog.node.js';
import { initWhisper, type TranscribeOptions as WhisperOptions, type WhisperContext } from '@fugood/whisper.node';
import PQueue from 'p-queue';
import { AgentError } from '../../../src-shared/contract/index.js';
import { modelPathProblem } from '../../agent/llm/modelFileCheck.node.js';
import { SegmentedRecognitionStream, type SegmentedRecognitionStreamOptions, type WholeBufferDecodeOptions } from './segmentedRecognitionStream.js';
import { recognitionCancelled, type RecognitionStream, type SpeechTranscriber } from './speechTranscriber.js';

/** whisper.cpp's ggml model files start with the uint32 0x67676d6c ("ggml"), stored little-endian. */
const GGML_MAGIC = 0x67676d6c;

export interface WhisperTranscriberOptions {
  modelPath: string;
  /** CPU threads for decoding; set explicitly because whisper.cpp's default can oversubscribe small machines. */
  threads: number;
  language?: string;
  /** How each utterance is cut into segments and how often its open tail is re-decoded; see SegmentedRecognitionStream. */
  segmentation?: Omit<SegmentedRecognitionStreamOptions, 'decode'>;
}

/**
 * Whisper in-process through `@fugood/whisper.node`. The model is loaded once and kept; `load()` also
 * decodes 1 s of silence so the first real utterance does not pay for first-run allocations.
 * Whisper only decodes whole buffers, so each utterance is recognised while it is spoken by a
 * SegmentedRecognitionStream: phrases are decoded as the speaker pauses, and at the end only the last one is left.
 * The binding exposes neither whisper.cpp's no-speech probability nor its token-suppression flags,
 * so silence is handled by the energy gate and `filterNoSpeech` instead (in the stream).
 */
export class WhisperTranscriber implements SpeechTranscriber {
  readonly engine = 'whisper' as const;
  private loading: Promise<WhisperContext> | undefined;
  /** whisper.cpp runs one decode per context at a time; later calls wait their turn. */
  private readonly queue = new PQueue({ concurrency: 1 });
  private unrouteNativeLog: (() => Promise<void>) | undefined;

  constructor(private readonly options: WhisperTranscriberOptions) {}

  load(): Promise<void> {
    return this.context().then(() => undefined);
  }

  stream(): RecognitionStream {
    return new SegmentedRecognitionStream({ ...this.options.segmentation, decode: (audio, options) => this.decodeInTurn(audio, options) });
  }

  async dispose(): Promise<void> {
    const loading = this.loading;
    this.loading = undefined;
    if (!loading) return;
    await this.queue.onIdle();
    const context = await loading.catch(() => undefined);
    await context?.release();
    await this.unrouteNativeLog?.();
  }

  private context(): Promise<WhisperContext> {
    if (!this.loading) {
      const loading = this.loadContext();
      this.loading = loading;
      // A failed load is not kept, so a fixed model file works on the next try.
      loading.catch(() => {
        if (this.loading === loading) this.loading = undefined;
      });
    }
    return this.loading;
  }

  private async loadContext(): Promise<WhisperContext> {
    const { modelPath } = this.options;
    await checkModelFile(modelPath);
    let context: WhisperContext;
    const unrouteNativeLog = await routeWhisperNativeLog();
    this.unrouteNativeLog = unrouteNativeLog;
    try {
      context = await initWhisper({ filePath: modelPath, useGpu: false });
    } catch {
      await unrouteNativeLog();
      // The binding only says "Failed to initialize whisper context".
      throw new AgentError(
        'MODEL_CORRUPT',
        `Whisper could not load ${modelPath}: the file is damaged or not a whisper.cpp model. Download it again with "npx assistant models pull whisper-base-en".`,
      );
    }
    try {
      await this.decode(context, new Int16Array(16_000), {});
    } catch (error) {
      // A failed load is retried from scratch, so this context is not kept.
      await context.release();
      await unrouteNativeLog();
      throw error;
    }
    return context;
  }

  /** Waits for the model (a stream may start before `load` is done), then for the decodes of other streams. */
  private async decodeInTurn(audio: Int16Array, options: WholeBufferDecodeOptions): Promise<string> {
    const context = await this.context();
    // An aborted decode that is still queued leaves the queue at once instead of holding up other streams.
    return this.queue.add(() => this.decode(context, audio, options), { signal: options.signal }).catch((error: unknown) => {
      throw options.signal.aborted ? recognitionCancelled() : error;
    });
  }

  private async decode(context: WhisperContext, audio: Int16Array, options: Partial<WholeBufferDecodeOptions>): Promise<string> {
    if (options.signal?.aborted) throw recognitionCancelled();
    const whisperOptions: WhisperOptions = {
      language: this.options.language ?? 'en',
      maxThreads: this.options.threads,
      temperature: 0,
      // An interim transcript is redone later anyway: greedy decoding, no fallback beam.
      ...(options.partial ? { beamSize: 1, bestOf: 1, temperatureInc: 0 } : {}),
    };
    const pcm = audio.slice().buffer; // the native side needs a whole, unshared ArrayBuffer
    const { stop, promise } = context.transcribeData(pcm, whisperOptions);
    const onAbort = () => void stop();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await promise;
      if (result.isAborted || options.signal?.aborted) throw recognitionCancelled();
      return result.result;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }
}

/** ggml file types whisper.cpp can load (stored as version * 1000 + type); others abort the process. */
const LOADABLE_FTYPES = new Set([0, 1, 2, 3, 7, 8, 9, 10, 11, 12, 13, 14]);

/**
 * Checks the file before handing it to whisper.cpp, whose loader aborts the whole process (GGML_ASSERT)
 * on some damaged headers instead of returning an error. Verifies the magic and that the
 * hyper-parameters are those of a Whisper model. A file cut short after the header can still fail inside
 * whisper.cpp; the model manager's size and checksum checks cover that.
 */
export async function checkModelFile(modelPath: string): Promise<void> {
  const pathProblem = modelPathProblem(modelPath, { extension: '.bin', needs: 'ASSISTANT_WHISPER_MODEL needs a whisper.cpp ggml .bin file' });
  if (pathProblem !== undefined && pathProblem.kind !== 'missing') {
    throw new AgentError(
      pathProblem.kind === 'directory' ? 'MODEL_MISSING' : 'MODEL_CORRUPT',
      `${pathProblem.reason}. Run "npx assistant models pull whisper-base-en" or set ASSISTANT_WHISPER_MODEL to a ggml .bin file.`,
    );
  }
  const info = await stat(modelPath).catch(() => undefined);
  if (!info?.isFile()) {
    throw new AgentError(
      'MODEL_MISSING',
      `The Whisper model ${modelPath} does not exist. Run "npx assistant models pull whisper-base-en" or set ASSISTANT_WHISPER_MODEL to a ggml .bin file.`,
    );
  }
  const header = Buffer.alloc(HEADER_BYTES);
  const file = await open(modelPath, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new AgentError(
      'MODEL_CORRUPT',
      `The Whisper model ${modelPath} cannot be read (${error.code ?? 'error'}). Check its permissions (e.g. chmod a+r), or set ASSISTANT_WHISPER_MODEL to another ggml .bin file.`,
    );
  });
  try {
    await file.read(header, 0, HEADER_BYTES, 0);
  } finally {
    await file.close();
  }
  const problem = headerProblem(header, info.size);
  if (problem !== undefined) {
    throw new AgentError(
      'MODEL_CORRUPT',
      `${modelPath} is not a usable whisper.cpp model: ${problem}. Download it again with "npx assistant models pull whisper-base-en".`,
    );
  }
}

/** Magic plus 11 int32 hyper-parameters: n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype. */
const HEADER_BYTES = 4 + 11 * 4;

function headerProblem(header: Buffer, size: number): string | undefined {
  if (size < 1024 * 1024) return `it is only ${size} bytes (Whisper models are 30 MB or more)`;
  if (header.readUInt32LE(0) !== GGML_MAGIC) return 'it has no "ggml" header';
  const [vocab, audioCtx, audioState, audioHeads, audioLayers, textCtx, textState, textHeads, textLayers, mels, ftype] = Array.from(
    { length: 11 },
    (_, index) => header.readInt32LE(4 + index * 4),
  ) as [number, number, number, number, number, number, number, number, number, number, number];
  const plausible =
    vocab >= 51_864 && vocab <= 51_866 &&
    audioCtx === 1500 && textCtx === 448 &&
    [audioState, textState].every((state) => state >= 64 && state <= 4096) &&
    [audioHeads, textHeads].every((heads) => heads >= 1 && heads <= 64) &&
    [audioLayers, textLayers].every((layers) => layers >= 1 && layers <= 64) &&
    (mels === 80 || mels === 128) &&
    ftype >= 0 && LOADABLE_FTYPES.has(ftype % 1000);
  return plausible ? undefined : 'its header does not describe a Whisper model';
}
