import { existsSync } from 'node:fs';
import { concatSamples } from '../../../src-shared/audio/sampleArrays.js';
import { AgentError } from '../../../src-shared/contract/index.js';
import { speechLevelDbfs } from '../vad/energyGate.js';
import { filterNoSpeech, isBelowSpeechGate, NO_SPEECH } from './noSpeechFilter.js';
import { decodeWithSphinxProcess, findExecutable, SPHINX_BINARY, SPHINX_INSTALL_HINT } from './sphinxBatchDecoder.node.js';
import { SphinxDecoderProcess, sphinxStreamHelperPath, type DecoderListener } from './sphinxDecoderProcess.node.js';
import { SegmentedRecognitionStream } from './segmentedRecognitionStream.js';
import {
  EMPTY_PARTIAL,
  recognitionCancelled,
  type PartialTranscript,
  type RecognitionStream,
  type SpeechTranscriber,
  type Transcript,
} from './speechTranscriber.js';

export { findExecutable, SPHINX_BINARY } from './sphinxBatchDecoder.node.js';

/**
 * No second (flat-lexicon) search pass: it re-searches the whole utterance at its end, about 30 ms per second of
 * speech, which is most of what is left to do once the user stops. Measured on the benchmark's ten utterances it made
 * no fewer word errors (4 with it, 3 without).
 */
const DEFAULT_DECODER_ARGS = ['-fwdflat', 'no'];

export interface SphinxTranscriberOptions {
  /** `pocketsphinx_continuous`, for the fallback: a command name looked up on PATH, or a path to the binary. */
  binary?: string;
  /** The streaming decoder; default: build/native/sphinx-stream. */
  helperPath?: string;
  /** PocketSphinx options for the streaming decoder; default: `-fwdflat no`. */
  decoderArgs?: readonly string[];
  /** Where the decoder's cepstral mean (adapted to the user's microphone) is kept between sessions. */
  meanFile?: string;
  /** How long a decoder with work outstanding may say nothing before it is restarted (default 20 s). */
  stallMs?: number;
}

/**
 * CMU PocketSphinx, a fallback recogniser on Linux (good on clear voices, weak on real speech). With the streaming
 * decoder built (build/native/sphinx-stream), one decoder stays loaded for the whole session and hears each
 * utterance while it is spoken, so at the end of speech only the last frames and the final search pass are left.
 * Without it, each utterance is recognised by a `pocketsphinx_continuous` process of its own, which reloads its
 * model every time, in segments split at the speaker's pauses.
 */
export class SphinxTranscriber implements SpeechTranscriber {
  readonly engine = 'sphinx' as const;
  /** True when the streaming decoder is used; false for one process per utterance. */
  readonly streaming: boolean;
  private readonly binary: string;
  private binaryPath: string | undefined;
  private readonly decoder: SphinxDecoderProcess | undefined;
  /** Utterances in order: the first is the decoder's, the others wait with their audio buffered. */
  private readonly utterances: SphinxUtterance[] = [];

  constructor(options: SphinxTranscriberOptions = {}) {
    this.binary = options.binary ?? SPHINX_BINARY;
    const helperPath = options.helperPath ?? sphinxStreamHelperPath();
    this.streaming = existsSync(helperPath);
    this.decoder = this.streaming ? new SphinxDecoderProcess(helperPath, options.decoderArgs ?? DEFAULT_DECODER_ARGS, options.meanFile, options.stallMs) : undefined;
  }

  async load(): Promise<void> {
    this.binaryPath ??= findExecutable(this.binary);
    if (this.decoder) {
      await this.decoder.start();
      return;
    }
    if (this.binaryPath === undefined) {
      throw new AgentError('STT_UNAVAILABLE', `PocketSphinx (${this.binary}) is not installed: ${SPHINX_INSTALL_HINT}.`);
    }
  }

  stream(): RecognitionStream {
    if (!this.decoder) {
      return new SegmentedRecognitionStream({
        decode: async (audio, { signal }) => {
          await this.load();
          return decodeWithSphinxProcess(this.binaryPath!, audio, signal);
        },
      });
    }
    const utterance: SphinxUtterance = new SphinxUtterance(
      this.decoder,
      () => this.advance(utterance),
      () => void this.begin(utterance),
    );
    this.utterances.push(utterance);
    if (this.utterances.length === 1) void this.begin(utterance);
    return utterance;
  }

  async dispose(): Promise<void> {
    for (const utterance of this.utterances.splice(0)) utterance.cancel();
    await this.decoder?.stop();
  }

  /** The decoder is done with `utterance` (final, cancelled or failed): the next one in line gets it. */
  private advance(utterance: SphinxUtterance): void {
    const index = this.utterances.indexOf(utterance);
    if (index === -1) return;
    this.utterances.splice(index, 1);
    if (index === 0 && this.utterances[0]) void this.begin(this.utterances[0]);
  }

  private async begin(utterance: SphinxUtterance): Promise<void> {
    try {
      await this.decoder!.start();
    } catch (error) {
      utterance.fail(error instanceof AgentError ? error : new AgentError('STT_UNAVAILABLE', String(error)));
      return;
    }
    if (this.utterances[0] === utterance) utterance.begin();
  }
}

type UtteranceState = 'waiting' | 'decoding' | 'ending' | 'done';

/** One utterance of the streaming decoder. Its audio waits in memory until the decoder is its. */
class SphinxUtterance implements RecognitionStream {
  private state: UtteranceState = 'waiting';
  private readonly heard: Int16Array[] = [];
  /** Audio not yet sent to the decoder (all of it while waiting for the decoder). */
  private unsent: Int16Array[] = [];
  private latest: PartialTranscript = EMPTY_PARTIAL;
  private readonly listeners = new Set<(partial: PartialTranscript) => void>();
  private finishing = false;
  private finished: Promise<Transcript> | undefined;
  private cancelled = false;
  private settle: { resolve(text: string): void; reject(error: AgentError): void } | undefined;
  private outcome: { text: string } | { error: AgentError } | undefined;

  /** It was sent to a new decoder once already, after the first one died with it. */
  private retried = false;

  constructor(
    private readonly decoder: SphinxDecoderProcess,
    private readonly release: () => void,
    /** Starts it again on a new decoder process (it is still first in line). */
    private readonly restart: () => void,
  ) {}

  push(frame: Int16Array): void {
    if (this.finishing || this.cancelled) return;
    const copy = frame.slice();
    this.heard.push(copy);
    if (this.state === 'decoding') this.decoder.sendAudio(copy);
    else this.unsent.push(copy);
  }

  partial(): PartialTranscript {
    return this.latest;
  }

  onPartial(listener: (partial: PartialTranscript) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A second call gets the first call's result. */
  finish(options: { signal?: AbortSignal } = {}): Promise<Transcript> {
    this.finished ??= this.finishOnce(options.signal);
    return this.finished;
  }

  private async finishOnce(signal: AbortSignal | undefined): Promise<Transcript> {
    this.finishing = true;
    if (this.cancelled || signal?.aborted) {
      this.cancel();
      throw recognitionCancelled();
    }
    const level = speechLevelDbfs(concatSamples(Int16Array, this.heard));
    // Silence or noise: no words, and the decoder is not asked for any.
    if (isBelowSpeechGate(level)) {
      this.cancel();
      return NO_SPEECH;
    }
    const onAbort = () => this.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const text = await new Promise<string>((resolve, reject) => {
        if (this.outcome) {
          if ('error' in this.outcome) reject(this.outcome.error);
          else resolve(this.outcome.text);
          return;
        }
        this.settle = { resolve, reject };
        if (this.state === 'decoding') this.end();
      });
      return filterNoSpeech(text, level);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.unsent = [];
    this.settleNow({ error: recognitionCancelled() });
    if (this.state === 'waiting') this.done({ error: recognitionCancelled() });
    else if (this.state === 'decoding') {
      // The decoder answers "C" when it has let go; until then the next utterance waits. One already ending answers
      // with its final hypothesis, which is dropped.
      this.state = 'ending';
      this.decoder.send('X');
    }
  }

  /** The decoder is this utterance's: it starts, and hears what was said so far. */
  begin(): void {
    if (this.state !== 'waiting') return;
    if (this.cancelled) {
      this.done({ error: recognitionCancelled() });
      return;
    }
    this.state = 'decoding';
    this.decoder.attach(this.decoderListener);
    this.decoder.send('S');
    for (const frame of this.unsent) this.decoder.sendAudio(frame);
    this.unsent = [];
    if (this.finishing) this.end();
  }

  fail(error: AgentError): void {
    this.done({ error });
  }

  /** Lines from the decoder about this utterance. PocketSphinx may revise any word, so nothing of a partial is stable. */
  private readonly decoderListener: DecoderListener = {
    partial: (text, heardSamples) => {
      if (this.cancelled || this.finishing) return;
      this.latest = { text, stable: '', heardMs: (heardSamples * 1000) / 16_000 };
      for (const listener of this.listeners) listener(this.latest);
    },
    final: (text) => this.done({ text }),
    cancelled: () => this.done({ error: recognitionCancelled() }),
    failed: (error, processDied) => {
      // All its audio is still here: once, it is heard again from the start by a new decoder.
      if (processDied && !this.retried && !this.cancelled && this.state !== 'done') {
        this.retried = true;
        this.state = 'waiting';
        this.decoder.attach(undefined);
        this.unsent = [...this.heard];
        this.latest = EMPTY_PARTIAL;
        this.restart();
        return;
      }
      this.done({ error });
    },
  };

  private end(): void {
    this.state = 'ending';
    this.decoder.send('E');
  }

  private done(outcome: { text: string } | { error: AgentError }): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.decoder.attach(undefined);
    this.settleNow(outcome);
    this.release();
  }

  private settleNow(outcome: { text: string } | { error: AgentError }): void {
    this.outcome ??= outcome;
    const settle = this.settle;
    this.settle = undefined;
    if (!settle) return;
    if ('error' in this.outcome) settle.reject(this.outcome.error);
    else settle.resolve(this.outcome.text);
  }
}
