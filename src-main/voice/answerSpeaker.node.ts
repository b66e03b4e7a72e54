import PQueue from 'p-queue';
import { toErrorShape, type AgentEvent } from '../../src-shared/contract/index.js';
import { toSpeakableText } from '../../src-shared/speech/speakableText.js';
import { afterClause, firstClause } from './tts/firstClause.js';
import type { SpeechSynthesizer } from './tts/speechSynthesizer.js';

export interface SpeakingObserver {
  /** Piece `seq` (a sentence, or the first clause of the first one) goes to the synthesizer. */
  onSynthesisStart?(seq: number): void;
  /** The audio of piece `seq` is ready and emitted; the first call is the answer's first audio. */
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
 *
 * A long first sentence would hold up the first audio until it is generated, checked and synthesized in full, so
 * its first clause is spoken as soon as the shown text (`shownText`, the agent's `token` events) holds it (see
 * firstClause.ts), and sentence 0 then adds only the rest of it. The clause never runs past where the agent's splitter
 * could end sentence 0; should sentence 0 still end inside it, the next sentence drops what of it was spoken: no word
 * is said twice. Tokens carry only what may be shown: with the guardrails on, the prefix of a sentence their checks
 * release early, then the checked rest. A cached answer, shown at once, is split the same way. Each piece is its own `speech-sentence` and `speech-audio` (`seq`), so pieces are
 * numbered apart from the sentence indices; the text shown and stored is untouched.
 */
export class SpeakingTurn {
  private readonly controller = new AbortController();
  /** Sentences are synthesized one after another so their audio is emitted in order. */
  private readonly synthesis = new PQueue({ concurrency: 1 });
  /** Sentences that arrived ahead of one still missing, by index. */
  private readonly early = new Map<number, string>();
  private nextIndex = 0;
  /**
   * Until sentence 0 is spoken: the answer's shown text so far (the first sentence being written), and the speakable
   * text of its first clause once that has been spoken. Undefined once the first sentence is spoken or withheld.
   */
  private opening: { shown: string; spokenClause?: string } | undefined = { shown: '' };
  /** What was spoken ahead of the sentences and is still to be found at the start of the next one (speakable text). */
  private spokenAhead: string | undefined;
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

  /** Text of the answer as it is shown (a `token` event): speaks the first sentence's first clause once it is there. */
  shownText(chunk: string): void {
    const opening = this.opening;
    if (this.cancelled || opening === undefined || opening.spokenClause !== undefined) return;
    opening.shown += chunk;
    const clause = firstClause(opening.shown);
    if (clause === undefined) return;
    opening.spokenClause = toSpeakableText(clause);
    this.speak(opening.spokenClause);
  }

  /**
   * An output check withheld a sentence. While sentence 0 has not come yet, that was the sentence being shown: the
   * next sentence 0 is another one, spoken whole.
   */
  withheld(): void {
    this.opening = undefined;
    this.spokenAhead = undefined;
  }

  /** Sentence `index` of the answer (0, 1, 2, …); spoken once every sentence before it has been. */
  sentence(index: number, text: string): void {
    if (this.cancelled || index < this.nextIndex) return;
    this.early.set(index, text);
    for (let next = this.early.get(this.nextIndex); next !== undefined; next = this.early.get(this.nextIndex)) {
      this.early.delete(this.nextIndex);
      this.speakSentence(this.nextIndex++, next);
    }
  }

  /** The answer is complete: speaks what is left; resolves when the last audio has been emitted. */
  end(): Promise<void> {
    if (!this.cancelled) {
      for (const index of [...this.early.keys()].sort((a, b) => a - b)) this.speakSentence(index, this.early.get(index)!);
    }
    this.early.clear();
    return this.synthesis.onIdle();
  }

  cancel(): void {
    this.controller.abort();
    this.early.clear();
  }

  /**
   * The first sentence's clause, if one was spoken, is not said again: only the rest of the sentence is (and, if the
   * sentence ended inside the clause, only the rest of the next one after the clause's end).
   */
  private speakSentence(index: number, sentence: string): void {
    const text = toSpeakableText(sentence);
    if (index === 0) {
      this.spokenAhead = this.opening?.spokenClause;
      this.opening = undefined;
    }
    if (this.spokenAhead === undefined) {
      this.speak(text);
      return;
    }
    const { rest, unaccounted } = afterClause(this.spokenAhead, text);
    this.spokenAhead = unaccounted;
    this.speak(rest);
  }

  /** Speaks `text` (speakable text) as the next piece. */
  private speak(text: string): void {
    if (!HAS_WORD_CHARACTER.test(text)) return;
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

const HAS_WORD_CHARACTER = /[\p{L}\p{N}]/u;
