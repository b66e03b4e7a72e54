import { toErrorShape, type AgentEvent } from '../../src-shared/contract/index.js';
import { StreamingSentenceSplitter } from '../../src-shared/speech/sentenceSplitter.js';
import { toSpeakableText } from '../../src-shared/speech/speakableText.js';
import type { SpeechSynthesizer } from './tts/speechSynthesizer.js';

export interface SpeakingObserver {
  onSentence?(seq: number): void;
  onAudio?(seq: number, durationMs: number): void;
}

export interface SpeechVoice {
  /** `flite:<name>` synthesized here; `system:<voiceURI>` spoken by the renderer from `speech-sentence` events. */
  voice: string;
  rate: number;
}

/**
 * The speaking stage of a voice turn: LLM tokens in, sentences and their audio out, in order. Each sentence is
 * cleaned of markdown, code, URLs and emoji and synthesized as soon as it is complete, so speech starts before
 * the answer is finished. `cancel` drops everything not yet emitted.
 */
export class SpeakingTurn {
  private readonly splitter = new StreamingSentenceSplitter();
  private readonly controller = new AbortController();
  private synthesis: Promise<void> = Promise.resolve();
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

  push(token: string): void {
    if (this.cancelled) return;
    for (const sentence of this.splitter.push(token)) this.speak(sentence);
  }

  /** The answer is complete: speak what is left; resolves when the last audio has been emitted. */
  end(): Promise<void> {
    if (!this.cancelled) for (const sentence of this.splitter.flush()) this.speak(sentence);
    return this.synthesis;
  }

  cancel(): void {
    this.controller.abort();
  }

  private speak(sentence: string): void {
    const text = toSpeakableText(sentence);
    if (text === '') return;
    const seq = this.nextSeq++;
    this.emit({ type: 'speech-sentence', turnId: this.turnId, seq, text });
    this.observer.onSentence?.(seq);
    const flite = /^flite:(.+)$/.exec(this.voice.voice);
    if (!flite) return;
    // Sentences are synthesized one after another so their audio is emitted in order.
    this.synthesis = this.synthesis.then(async () => {
      if (this.cancelled || this.ttsFailed) return;
      try {
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
