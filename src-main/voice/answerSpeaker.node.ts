import PQueue from 'p-queue';
import { toErrorShape, type AgentEvent } from '../../src-shared/contract/index.js';
import { toSpeakableText } from '../../src-shared/speech/speakableText.js';
import type { SpeechSynthesizer } from './tts/speechSynthesizer.js';

export interface SpeakingObserver {
  /** Sentence `seq` goes to the synthesizer. */
  onSynthesisStart?(seq: number): void;
  onAudio?(seq: number, durationMs: number): void;
}

export interface SpeechVoice {
  /** `flite:<name>` synthesized here; `system:<voiceURI>` spoken by the renderer from `speech-sentence` events. */
  voice: string;
  rate: number;
}

/**
 * The speaking stage of a voice turn: the answer's checked sentences in (the agent's `answer-sentence` events, by
 * `index`), speech out, in order. Each sentence is cleaned of markdown, code, URLs and emoji and synthesized as
 * soon as it arrives, so speech starts before the answer is finished. `cancel` drops everything not yet emitted.
 */
export class SpeakingTurn {
  private readonly controller = new AbortController();
  /** Sentences are synthesized one after another so their audio is emitted in order. */
  private readonly synthesis = new PQueue({ concurrency: 1 });
  /** Sentences that arrived ahead of one still missing, by index. */
  private readonly early = new Map<number, string>();
  private nextIndex = 0;
  private nextSeq = 0;
  private ttsFailed = false;
  /** Total duration of the audio emitted so far. */
  audioMs = 0;

  constructor(
    readonly turnId: string,
    private readonly synthesizer: SpeechSynthesizer,
    private readonly voice: SpeechVoice,
    private readonly emit: (event: AgentEvent) => void,
    private readonly observer: SpeakingObserver = {},
  ) {}

  get cancelled(): boolean {
    return this.controller.signal.aborted;
  }

  /** Sentence `index` of the answer (0, 1, 2, …); spoken once every sentence before it has been. */
  sentence(index: number, text: string): void {
    if (this.cancelled || index < this.nextIndex) return;
    this.early.set(index, text);
    for (let next = this.early.get(this.nextIndex); next !== undefined; next = this.early.get(this.nextIndex)) {
      this.early.delete(this.nextIndex++);
      this.speak(next);
    }
  }

  /** The answer is complete: speaks what is left; resolves when the last audio has been emitted. */
  end(): Promise<void> {
    if (!this.cancelled) {
      for (const index of [...this.early.keys()].sort((a, b) => a - b)) this.speak(this.early.get(index)!);
    }
    this.early.clear();
    return this.synthesis.onIdle();
  }

  cancel(): void {
    this.controller.abort();
    this.early.clear();
  }

  private speak(sentence: string): void {
    const text = toSpeakableText(sentence);
    if (text === '') return;
    const seq = this.nextSeq++;
    this.emit({ type: 'speech-sentence', turnId: this.turnId, seq, text });
    const flite = /^flite:(.+)$/.exec(this.voice.voice);
    if (!flite) return;
    void this.synthesis.add(async () => {
      if (this.cancelled || this.ttsFailed) return;
      try {
        this.observer.onSynthesisStart?.(seq);
        const audio = await this.synthesizer.synthesize(text, { voice: flite[1]!, rate: this.voice.rate, signal: this.controller.signal });
        if (this.cancelled) return;
        const durationMs = (audio.samples.length * 1000) / audio.sampleRate;
        this.emit({
          type: 'speech-audio',
          turnId: this.turnId,
          seq,
          sampleRate: audio.sampleRate,
          pcmBase64: Buffer.from(audio.samples.buffer, audio.samples.byteOffset, audio.samples.byteLength).toString('base64'),
        });
        this.audioMs += durationMs;
        this.observer.onAudio?.(seq, durationMs);
      } catch (error) {
        if (this.cancelled) return;
        // One failure is reported; the answer is still shown as text. No turnId: the chat turn itself goes on.
        this.ttsFailed = true;
        this.emit({ type: 'error', ...toErrorShape(error) });
      }
    });
  }
}
