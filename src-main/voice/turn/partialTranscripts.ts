import type { AgentEvent } from '../../../src-shared/contract/index.js';
import { concatSamples } from '../../../src-shared/audio/sampleArrays.js';
import type { SpeechTranscriber } from '../stt/speechTranscriber.js';

export interface PartialTranscriptsOptions {
  /** How often to transcribe the utterance in progress (ms); 0 = never. */
  everyMs(): number;
  transcriber(): SpeechTranscriber | undefined;
  emit(event: AgentEvent): void;
}

/**
 * Interim transcripts while the user speaks: every `everyMs`, the audio heard so far is transcribed (one at a time)
 * and sent as a non-final transcript with the utterance's id. A partial that comes back after its utterance ended is
 * dropped, so it never follows the final transcript or lands in the next utterance.
 */
export class PartialTranscripts {
  private timer: ReturnType<typeof setInterval> | undefined;
  private inFlight = false;
  private utteranceId: string | undefined;

  constructor(private readonly options: PartialTranscriptsOptions) {}

  start(utteranceId: string, audioSoFar: () => Int16Array[]): void {
    this.stop();
    this.utteranceId = utteranceId;
    const everyMs = this.options.everyMs();
    if (everyMs <= 0) return;
    this.timer = setInterval(() => this.transcribe(utteranceId, audioSoFar()), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.utteranceId = undefined;
  }

  private transcribe(utteranceId: string, frames: Int16Array[]): void {
    const transcriber = this.options.transcriber();
    if (!transcriber || this.inFlight || frames.length === 0) return;
    this.inFlight = true;
    transcriber
      .transcribe(concatSamples(Int16Array, frames), { partial: true })
      .then((partial) => {
        const text = partial.text.trim();
        if (this.utteranceId === utteranceId && !partial.noSpeech && text !== '') {
          this.options.emit({ type: 'transcript', utteranceId, final: false, text });
        }
      })
      .catch(() => undefined)
      .finally(() => (this.inFlight = false));
  }
}
