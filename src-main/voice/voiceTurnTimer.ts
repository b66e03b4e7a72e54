import type { VoiceWaterfall } from '../../src-shared/contract/index.js';

/**
 * Times one voice turn from the end of the user's speech: transcript, first token, first complete sentence, first
 * synthesized audio. The one place voice latency is measured; stages only report that something happened.
 */
export class VoiceTurnTimer {
  private transcriptAt: number | undefined;
  private firstTokenAt: number | undefined;
  private firstSentenceAt: number | undefined;
  private firstAudioAt: number | undefined;

  constructor(
    readonly endOfSpeechAt: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  transcriptReady(): void {
    this.transcriptAt ??= this.now();
  }
  firstToken(): void {
    this.firstTokenAt ??= this.now();
  }
  firstSentence(): void {
    this.firstSentenceAt ??= this.now();
  }
  firstAudio(): void {
    this.firstAudioAt ??= this.now();
  }

  waterfall(): VoiceWaterfall {
    const since = (at: number | undefined) => (at === undefined ? null : Math.round((at - this.endOfSpeechAt) * 10) / 10);
    return {
      transcriptMs: since(this.transcriptAt) ?? 0,
      firstTokenMs: since(this.firstTokenAt),
      firstSentenceMs: since(this.firstSentenceAt),
      firstAudioMs: since(this.firstAudioAt),
    };
  }
}
