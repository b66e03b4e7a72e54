import { toErrorShape, type AgentEvent } from '../../src-shared/contract/index.js';
import { SpeakingTurn, type SpeechVoice } from './answerSpeaker.node.js';
import type { AssistantActivity } from './turn/interruptionPolicy.js';
import type { Transcript } from './stt/speechTranscriber.js';
import type { SpeechSynthesizer } from './tts/speechSynthesizer.js';
import type { SpeculativeTurnHandle, VoiceChatPort, VoiceTurnTimeline } from './voiceChatPort.js';

export interface VoiceTurnDeps {
  chat: VoiceChatPort;
  synthesizer: SpeechSynthesizer;
  voice: SpeechVoice;
  emit(event: AgentEvent): void;
  /** Audio of the answer went out: `durationMs` more of it will play. */
  onAudio(turnId: string, durationMs: number): void;
  /** The turn is over by itself: its answer was spoken in full, it had nothing to answer, or it failed. */
  onEnded(): void;
}

/**
 * One question and its answer: transcribes the utterance, starts its chat turn (its stages counting from the end of
 * speech, speech-to-text first), and speaks the answer's checked sentences as they arrive. `stop` abandons it
 * wherever it is; everything that still arrives for it is ignored.
 */
export class VoiceTurn {
  activity: Exclude<AssistantActivity, 'speaking'> = 'transcribing';
  turnId: string | undefined;
  private timeline: VoiceTurnTimeline | undefined;
  private speaking: SpeakingTurn | undefined;
  private stopped = false;
  private readonly transcription = new AbortController();
  private stt = { start: 0, end: 0 };
  private speculation: 'adopted' | 'discarded' | 'none' = 'none';
  private resolveEnded!: () => void;
  /** Settles when the turn is over: spoken in full, failed or stopped. */
  readonly ended = new Promise<void>((resolve) => (this.resolveEnded = resolve));

  constructor(
    readonly utteranceId: string,
    private readonly deps: VoiceTurnDeps,
  ) {}

  /**
   * What the user said, or undefined when there is nothing to answer (no words, a failure, or the turn was stopped).
   * Recognition ran while the user spoke; what is awaited here is only what was left at the end of speech.
   */
  async transcribe(heard: { transcript: Promise<Transcript>; cancel(): void }): Promise<string | undefined> {
    this.stt.start = performance.now();
    const onStop = () => heard.cancel();
    this.transcription.signal.addEventListener('abort', onStop, { once: true });
    let text: string;
    try {
      const transcript = await heard.transcript;
      text = transcript.noSpeech ? '' : transcript.text.trim();
    } catch (error) {
      if (!this.stopped) this.fail(error);
      return undefined;
    } finally {
      this.transcription.signal.removeEventListener('abort', onStop);
    }
    if (this.stopped) return undefined;
    this.stt.end = performance.now();
    this.deps.emit({ type: 'transcript', utteranceId: this.utteranceId, final: true, text });
    if (text === '') {
      // Silence or noise: no turn, and nothing hallucinated.
      this.end();
      return undefined;
    }
    return text;
  }

  /** Starts the chat turn for `text`; resolves with its conversation, or undefined when it could not start. */
  async answer(
    text: string,
    conversationId: string | undefined,
    endOfSpeechAt: number,
    /** The turn prepared during the user's pause, when its words are these; `speculated`: there was one for this utterance. */
    speculation: { handle: SpeculativeTurnHandle | undefined; speculated: boolean } = { handle: undefined, speculated: false },
    council = false,
  ): Promise<{ conversationId: string } | undefined> {
    this.activity = 'thinking';
    try {
      const started = await this.deps.chat.startTurn({
        text,
        conversationId,
        origin: endOfSpeechAt,
        // The stt stage is what recognition had left to do once the user had stopped speaking.
        earlierStages: [{ name: 'stt', ...this.stt }],
        speculation: speculation.handle,
        ...(council && { council: {} }),
      });
      this.speculation = started.adoptedSpeculation === true ? 'adopted' : speculation.speculated ? 'discarded' : 'none';
      const { turnId, timeline } = started;
      this.turnId = turnId;
      this.timeline = timeline;
      this.speaking = new SpeakingTurn(turnId, this.deps.synthesizer, this.deps.voice, this.deps.emit, {
        onSynthesisStart: () => timeline.start('tts'),
        onAudio: (_seq, durationMs) => {
          timeline.end('tts');
          this.deps.onAudio(turnId, durationMs);
        },
      });
      if (this.stopped) this.deps.chat.cancelTurn(turnId);
      return started;
    } catch (error) {
      this.fail(error);
      return undefined;
    }
  }

  /**
   * The answer reaches the voice as checked sentences, exactly as it is shown, whether generated or cached; the shown
   * text (tokens) too, so a long first sentence can start with its first clause.
   */
  onChatEvent(event: AgentEvent): void {
    const speaking = this.speaking;
    if (!speaking || this.stopped || !('turnId' in event) || event.turnId !== this.turnId) return;
    if (event.type === 'token') {
      speaking.shownText(event.text);
    } else if (event.type === 'answer-sentence') {
      speaking.sentence(event.index, event.text);
    } else if (event.type === 'answer-withheld') {
      speaking.withheld();
    } else if (event.type === 'done') {
      void speaking.end().then(() => {
        if (this.stopped) return;
        this.emitTimings();
        this.end();
      });
    } else if (event.type === 'blocked') {
      // A refused question gets its short explanation spoken, as the text view shows it.
      speaking.sentence(0, `I can't help with that. ${event.reason}`);
      void speaking.end().then(() => {
        if (!this.stopped) this.end();
      });
    } else if (event.type === 'error') {
      speaking.cancel();
      this.end();
    }
  }

  /** Abandons the turn wherever it is: recognition, generation and speech stop; an answer already heard in part is timed. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.transcription.abort();
    this.speaking?.cancel();
    if (this.turnId) this.deps.chat.cancelTurn(this.turnId);
    if (this.timeline?.hasEnded('tts')) this.emitTimings();
    this.resolveEnded();
  }

  private emitTimings(): void {
    if (!this.turnId || !this.timeline) return;
    this.deps.emit({ type: 'voice-timings', turnId: this.turnId, utteranceId: this.utteranceId, waterfall: { ...this.timeline.voiceWaterfall(), speculation: this.speculation } });
  }

  private end(): void {
    this.resolveEnded();
    this.deps.onEnded();
  }

  private fail(error: unknown): void {
    this.end();
    this.deps.emit({ type: 'error', ...toErrorShape(error) });
  }
}
