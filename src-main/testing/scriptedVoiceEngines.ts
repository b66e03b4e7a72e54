import { concatSamples } from '../../src-shared/audio/sampleArrays.js';
import { AgentError } from '../../src-shared/contract/index.js';
import {
  EMPTY_PARTIAL,
  recognitionCancelled,
  type PartialTranscript,
  type RecognitionStream,
  type SpeechTranscriber,
  type SttEngine,
  type Transcript,
} from '../voice/stt/speechTranscriber.js';
import type { SpeechSynthesizer, SynthesisOptions, SynthesizedAudio } from '../voice/tts/speechSynthesizer.js';
import type { TurnTakingConfig, VadEvent, VoiceActivityDetector } from '../voice/vad/voiceActivityDetector.js';
import type { VoiceEngines } from '../voice/voiceEngines.js';
import { Gate } from './gate.js';

export { Gate } from './gate.js';

/*
 * Fake voice engines for turn-taking tests: each does exactly what the test scripts, when the test lets it. Nothing
 * here listens, recognises or speaks; the real engines have their own tests.
 */

const SAMPLE_RATE = 16_000;
/** 20 ms of mic audio: what `pushFrame` gets from the renderer. */
export const FRAME_SAMPLES = 320;

/**
 * A VAD that reports speech where the test says: an utterance from frame `start` to frame `end` (frames counted
 * from the first pushed, or from the last reset). Frames outside a scheduled utterance are silence or noise to it,
 * whatever they hold.
 */
export class ScriptedVad implements VoiceActivityDetector {
  private framesSeen = 0;
  private readonly scheduled: Array<{ start: number; end: number; pauses: Array<{ at: number; resume?: number }> }> = [];
  /** The end-of-speech silences the session asked for, in order. */
  readonly endSilences: number[] = [];
  private speech: Int16Array[] | undefined;
  private speechStart = 0;

  constructor(readonly turnTaking: TurnTakingConfig) {}

  /** Frames pushed since the start (or the last reset). */
  get frames(): number {
    return this.framesSeen;
  }

  /**
   * Schedules the next utterance: speech starts `after` frames from now and lasts `frames` frames. Returns how many
   * frames to push until its end is reported.
   */
  utterance({
    after = 1,
    frames = 10,
    pauses = [],
  }: {
    after?: number;
    frames?: number;
    /** Pauses inside it: a speech-pause (200 ms of silence) at frame `at` of the utterance, and a resume at `resume`. */
    pauses?: Array<{ at: number; resume?: number }>;
  } = {}): number {
    const start = this.framesSeen + after;
    this.scheduled.push({ start, end: start + frames, pauses: pauses.map((pause) => ({ at: start + pause.at, ...(pause.resume !== undefined && { resume: start + pause.resume }) })) });
    return after + frames + 1;
  }

  setEndSilenceMs(ms: number): void {
    this.endSilences.push(ms);
  }

  async push(frame: Int16Array): Promise<VadEvent[]> {
    const index = this.framesSeen++;
    const atMs = (index * FRAME_SAMPLES * 1000) / SAMPLE_RATE;
    const events: VadEvent[] = [];
    const next = this.scheduled[0];
    if (next && index === next.start) {
      this.speech = [];
      this.speechStart = atMs;
      events.push({ type: 'speech-start', atMs });
    }
    this.speech?.push(frame.slice());
    for (const pause of next?.pauses ?? []) {
      if (index === pause.at) events.push({ type: 'speech-pause', atMs, silentMs: 200 });
      if (index === pause.resume) events.push({ type: 'speech-resume', atMs });
    }
    if (next && index === next.end) {
      this.scheduled.shift();
      events.push(this.speechEnd(atMs));
    }
    return events;
  }

  async flush(): Promise<VadEvent[]> {
    if (!this.speech) return [];
    this.scheduled.shift();
    return [this.speechEnd((this.framesSeen * FRAME_SAMPLES * 1000) / SAMPLE_RATE)];
  }

  reset(): void {
    this.framesSeen = 0;
    this.scheduled.length = 0;
    this.speech = undefined;
  }

  async dispose(): Promise<void> {}

  private speechEnd(atMs: number): VadEvent {
    const audio = concatSamples(Int16Array, this.speech ?? []);
    this.speech = undefined;
    return { type: 'speech-end', atMs, startMs: this.speechStart, audio, capped: false };
  }
}

/** A recogniser that hears the scripted texts, one per utterance in order, each once the test lets it finish. */
export class ScriptedTranscriber implements SpeechTranscriber {
  /** While closed, final transcripts wait: a slow recogniser. */
  readonly gate = new Gate();
  /** The audio of every utterance finished, as the stream heard it. */
  readonly heard: Int16Array[] = [];
  /** Every utterance's stream, in order. */
  readonly streams: ScriptedRecognitionStream[] = [];

  constructor(
    /** What each utterance said, in order; '' when it held no speech (silence, noise). */
    private readonly texts: string[],
    readonly engine: SttEngine = 'sphinx',
  ) {}

  async load(): Promise<void> {}

  stream(): RecognitionStream {
    const stream = new ScriptedRecognitionStream(this, () => this.texts.shift() ?? '');
    this.streams.push(stream);
    return stream;
  }

  async dispose(): Promise<void> {}
}

/** One utterance of the scripted recogniser. The test makes it "recognise" words so far with `hear`. */
export class ScriptedRecognitionStream implements RecognitionStream {
  readonly frames: Int16Array[] = [];
  private latest: PartialTranscript = EMPTY_PARTIAL;
  private readonly listeners = new Set<(partial: PartialTranscript) => void>();
  private readonly cancelled = new AbortController();
  cancelCount = 0;

  constructor(
    private readonly transcriber: ScriptedTranscriber,
    private readonly finalText: () => string,
  ) {}

  push(frame: Int16Array): void {
    this.frames.push(frame.slice());
  }

  /** A partial transcript of everything pushed so far. */
  hear(text: string): void {
    const heardMs = (this.frames.reduce((sum, frame) => sum + frame.length, 0) * 1000) / SAMPLE_RATE;
    this.latest = { text, stable: '', heardMs };
    for (const listener of this.listeners) listener(this.latest);
  }

  partial(): PartialTranscript {
    return this.latest;
  }

  onPartial(listener: (partial: PartialTranscript) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async finish(options: { signal?: AbortSignal } = {}): Promise<Transcript> {
    this.transcriber.heard.push(concatSamples(Int16Array, this.frames));
    const text = this.finalText();
    const signal = options.signal ? AbortSignal.any([options.signal, this.cancelled.signal]) : this.cancelled.signal;
    await this.transcriber.gate.wait(signal, recognitionCancelled);
    return { text, noSpeech: text === '' };
  }

  cancel(): void {
    this.cancelCount++;
    this.cancelled.abort();
  }
}

/** A voice that "speaks" each sentence as `audioMs` of silence, once the test lets it. */
export class ScriptedSynthesizer implements SpeechSynthesizer {
  readonly voices = ['slt', 'kal'];
  /** While closed, synthesis waits: a slow voice. */
  readonly gate = new Gate();
  /** Every sentence synthesized, in order. */
  readonly spoken: string[] = [];

  constructor(private readonly audioMs = 2_000) {}

  async synthesize(text: string, options: SynthesisOptions = {}): Promise<SynthesizedAudio> {
    await this.gate.wait(options.signal, () => new AgentError('CANCELLED', 'Speech synthesis was cancelled.'));
    this.spoken.push(text);
    // A low sample rate keeps long "audio" small; the session only needs its duration.
    const sampleRate = 1_000;
    return { sampleRate, samples: new Int16Array(Math.round((this.audioMs * sampleRate) / 1000)) };
  }
}

export interface ScriptedVoiceEngines extends VoiceEngines {
  /** The VAD the session loaded last (it loads again when the turn-taking settings change). */
  readonly vad: ScriptedVad;
  readonly transcriber: ScriptedTranscriber;
  readonly synthesizer: ScriptedSynthesizer;
}

export function scriptedVoiceEngines(options: { transcripts: string[]; audioMs?: number; sttEngine?: SttEngine }): ScriptedVoiceEngines {
  const transcriber = new ScriptedTranscriber(options.transcripts, options.sttEngine);
  const synthesizer = new ScriptedSynthesizer(options.audioMs);
  let vad: ScriptedVad | undefined;
  return {
    get vad(): ScriptedVad {
      if (!vad) throw new Error('The voice session has not loaded its VAD yet.');
      return vad;
    },
    transcriber,
    synthesizer,
    loadVad: async (turnTaking) => (vad = new ScriptedVad(turnTaking)),
    createTranscriber: () => transcriber,
  };
}
