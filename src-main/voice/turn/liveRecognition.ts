import type { AgentEvent, EndSilenceStatus, VoiceSettings } from '../../../src-shared/contract/index.js';
import type { PartialTranscript, RecognitionStream, SpeechTranscriber, Transcript } from '../stt/speechTranscriber.js';
import { endSilenceFor } from './endOfTurnPolicy.js';

const SAMPLES_PER_MS = 16;

export interface LiveRecognitionOptions {
  emit(event: AgentEvent): void;
  settings(): VoiceSettings;
  /** The end-of-speech silence to use for the utterance in progress changed. */
  endSilenceChanged(status: EndSilenceStatus): void;
  /**
   * The user is silent and recognition has caught up with everything they said: `text` is what they said, unless
   * they go on (`speechGoesOn` follows then). The moment to prepare the answer speculatively.
   */
  settledOn(utteranceId: string, text: string): void;
  /** The user spoke again after `settledOn`. */
  speechGoesOn(utteranceId: string): void;
}

/** An utterance that has ended: its final transcript is on its way. */
export interface HeardUtterance {
  id: string;
  /** Rejects with CANCELLED when cancelled, STT_UNAVAILABLE when recognition failed. */
  transcript: Promise<Transcript>;
  cancel(): void;
}

/**
 * The utterance being heard, recognised while the user speaks: its audio goes into the recogniser's stream as it
 * arrives, its partial transcripts are shown, they set the end-of-speech silence (shorter after a complete question,
 * longer after "and"), and once the user pauses and recognition has caught up, the session may start preparing the
 * answer. At the end of speech only the last piece is left to recognise.
 */
export class LiveRecognition {
  private current:
    | {
        id: string;
        stream: RecognitionStream;
        audio: () => Int16Array[];
        /** Frames of `audio()` already pushed into the stream, and their samples. */
        fed: number;
        fedSamples: number;
        /** Where the current pause began, in samples of the utterance; undefined while the user speaks. */
        pauseAtSample: number | undefined;
        shownText: string;
        settledText: string | undefined;
        unsubscribe: () => unknown;
      }
    | undefined;

  constructor(private readonly options: LiveRecognitionOptions) {}

  get utteranceId(): string | undefined {
    return this.current?.id;
  }

  /** A new utterance: recognition starts on the audio heard so far (pre-roll included). */
  start(id: string, transcriber: SpeechTranscriber | undefined, audio: () => Int16Array[]): void {
    this.abandon();
    if (!transcriber) return;
    const stream = transcriber.stream();
    const current: NonNullable<LiveRecognition['current']> = {
      id,
      stream,
      audio,
      fed: 0,
      fedSamples: 0,
      pauseAtSample: undefined,
      shownText: '',
      settledText: undefined,
      unsubscribe: () => undefined,
    };
    this.current = current;
    current.unsubscribe = stream.onPartial((partial) => this.onPartial(current, partial));
    this.feed();
    this.endSilenceChanged('');
  }

  /** Pushes the frames heard since the last call into the recogniser. */
  feed(): void {
    const current = this.current;
    if (!current) return;
    const frames = current.audio();
    for (; current.fed < frames.length; current.fed++) {
      const frame = frames[current.fed]!;
      current.stream.push(frame);
      current.fedSamples += frame.length;
    }
  }

  /** The VAD heard `silentMs` of silence inside the utterance. */
  paused(silentMs: number): void {
    const current = this.current;
    if (!current) return;
    this.feed();
    current.pauseAtSample = Math.max(0, current.fedSamples - silentMs * SAMPLES_PER_MS);
    this.onPartial(current, current.stream.partial());
  }

  /** The user went on after a pause. */
  resumed(): void {
    const current = this.current;
    if (!current) return;
    current.pauseAtSample = undefined;
    if (current.settledText !== undefined) {
      current.settledText = undefined;
      this.options.speechGoesOn(current.id);
    }
  }

  /** The utterance ended: only what was not yet recognised is left. */
  end(): HeardUtterance | undefined {
    const current = this.current;
    if (!current) return undefined;
    this.feed();
    this.current = undefined;
    current.unsubscribe();
    const { stream } = current;
    const transcript = stream.finish();
    // Awaited by the voice turn; until then a failure must not count as unhandled.
    transcript.catch(() => undefined);
    return { id: current.id, transcript, cancel: () => stream.cancel() };
  }

  /** Forgets the utterance in progress (muted, mode changed, a reset): its recognition is cancelled. */
  abandon(): void {
    const current = this.current;
    if (!current) return;
    this.current = undefined;
    current.unsubscribe();
    current.stream.cancel();
    if (current.settledText !== undefined) this.options.speechGoesOn(current.id);
  }

  private onPartial(current: NonNullable<LiveRecognition['current']>, partial: PartialTranscript): void {
    if (this.current !== current) return; // a late partial of an utterance that has ended
    const text = partial.text.trim();
    if (text !== '' && text !== current.shownText) {
      current.shownText = text;
      this.options.emit({ type: 'transcript', utteranceId: current.id, final: false, text });
    }
    const coversAllSpeech = current.pauseAtSample !== undefined && partial.heardMs * SAMPLES_PER_MS >= current.pauseAtSample;
    this.endSilenceChanged(text, coversAllSpeech);
    if (!coversAllSpeech || text === '' || text === current.settledText) return;
    if (current.settledText !== undefined) this.options.speechGoesOn(current.id);
    current.settledText = text;
    this.options.settledOn(current.id, text);
  }

  private endSilenceChanged(text: string, textCoversAllSpeech = false): void {
    const settings = this.options.settings();
    const silence = endSilenceFor({ text, baseMs: settings.endSilenceMs, adaptive: settings.adaptiveEndSilence, textCoversAllSpeech });
    this.options.endSilenceChanged({ baseMs: settings.endSilenceMs, currentMs: silence.ms, reason: silence.reason });
  }
}
