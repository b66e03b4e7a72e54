import { randomUUID } from 'node:crypto';
import PQueue from 'p-queue';
import {
  DEFAULT_VOICE_SETTINGS,
  toErrorShape,
  type AgentEvent,
  type VoiceSettings,
  type VoiceState,
  type VoiceStatus,
} from '../../src-shared/contract/index.js';
import { AnswerPlayback } from './turn/answerPlayback.js';
import { bargeInInterruptionPolicy, type AssistantActivity, type InterruptionPolicy, type InterruptionTrigger } from './turn/interruptionPolicy.js';
import { PartialTranscripts } from './turn/partialTranscripts.js';
import { PushToTalkDetector } from './turn/pushToTalkDetector.js';
import type { DetectedUtterance, TurnDetector } from './turn/turnDetector.js';
import { UtteranceQueue } from './turn/utteranceQueue.js';
import { VadTurnDetector } from './turn/vadTurnDetector.js';
import type { TurnTakingConfig } from './vad/voiceActivityDetector.js';
import type { VoiceChatPort } from './voiceChatPort.js';
import { VoiceEngineLoader, type VoiceEngines } from './voiceEngines.js';
import { VoiceTurn } from './voiceTurn.js';

export type { VoiceEngines } from './voiceEngines.js';
export type { VoiceChatPort, VoiceTurnRequest, VoiceTurnTimeline } from './voiceChatPort.js';

export interface VoiceSessionOptions {
  chat: VoiceChatPort;
  engines: VoiceEngines;
  emit(event: AgentEvent): void;
  settings?: Partial<VoiceSettings>;
  maxUtteranceMs?: number;
  /**
   * Interim transcripts while the user speaks, every this many ms (0 = off). 'auto': on for Whisper, off for
   * PocketSphinx, which reloads its model on every call and would slow the final transcript down.
   */
  partialTranscriptMs: number | 'auto';
  /** When the user interrupts the assistant; default: barge-in as the README describes. */
  interruption?: InterruptionPolicy;
}

export interface EndOfInputResult {
  /** Utterances heard (and transcribed) since the previous `endOfInput`; 0 when the input held no speech. */
  utterances: number;
}

const PRE_ROLL_MS = 200;

interface QueuedUtterance extends DetectedUtterance {
  id: string;
}

/**
 * One voice conversation: mic frames → turn detection (push-to-talk or VAD) → utterance queue → speech-to-text →
 * chat turn → the answer's checked sentences → text-to-speech → audio events. The coordinator of the parts, each in
 * its own file: turn detection, the utterance queue, the interruption policy, partial transcripts, the engines and
 * their status, and the answer's playback. Timing goes to the chat turn's timeline (the agent's TurnObserver).
 */
export class VoiceSession {
  private settings: VoiceSettings;
  private state: VoiceState = 'idle';
  private conversationId: string | undefined;
  private interruption: InterruptionPolicy;
  private readonly engines: VoiceEngineLoader;
  private readonly pushToTalk: PushToTalkDetector;
  private readonly handsFree: VadTurnDetector;
  /** Mic frames are processed strictly in order. */
  private readonly frames = new PQueue({ concurrency: 1 });
  private readonly utterances: UtteranceQueue<QueuedUtterance>;
  private readonly partials: PartialTranscripts;
  private readonly playback = new AnswerPlayback();
  /** The utterance being heard: its partial and final transcripts share this id. */
  private hearing: string | undefined;
  private active: VoiceTurn | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private disposed = false;
  /** Why voice is limited to text, while it is (the notice was shown once). */
  private textOnly: string | undefined;
  private readonly unlisten: () => void;
  private readonly loaded: Promise<void>;

  constructor(private readonly options: VoiceSessionOptions) {
    this.settings = { ...DEFAULT_VOICE_SETTINGS, ...options.settings };
    this.interruption = options.interruption ?? bargeInInterruptionPolicy;
    this.engines = new VoiceEngineLoader(options.engines);
    this.pushToTalk = new PushToTalkDetector(
      {
        speechStarted: () => {
          this.setState('listening');
          this.beginHearing(() => this.pushToTalk.audioSoFar());
        },
        utterance: (utterance) => this.utterances.add({ ...utterance, id: this.endHearing() }),
        tooShort: () => {
          this.endHearing();
          if (!this.active) this.setState('idle');
          options.emit({ type: 'notice', level: 'info', message: 'That was too short to hear: hold the key while you speak.' });
        },
      },
      () => this.settings.minSpeechMs,
    );
    this.handsFree = new VadTurnDetector(
      {
        speechStarted: () => {
          if (this.settings.mode !== 'hands-free') return;
          this.maybeInterrupt('speech-start');
          if (!this.active) this.setState('listening');
          this.beginHearing(() => this.handsFree.audioSoFar());
        },
        utterance: (utterance) => {
          if (this.settings.mode !== 'hands-free') return;
          const id = this.endHearing();
          if (utterance.capped) {
            options.emit({ type: 'notice', level: 'warning', message: 'That was over a minute long; only the first minute was used.' });
          }
          this.utterances.add({ ...utterance, id });
        },
        tooShort: () => undefined,
      },
      () => this.engines.vad,
      () => this.playback.audible,
    );
    this.utterances = new UtteranceQueue((utterance) => this.handleUtterance(utterance));
    this.partials = new PartialTranscripts({
      everyMs: () => {
        const partial = options.partialTranscriptMs;
        return partial === 'auto' ? (this.engines.transcriber?.engine === 'whisper' ? 1000 : 0) : partial;
      },
      transcriber: () => this.engines.transcriber,
      emit: options.emit,
    });
    this.unlisten = options.chat.listen((event) => this.active?.onChatEvent(event));
    this.loaded = this.engines.load(this.turnTaking()).then(() => this.emitStatus());
  }

  /** Resolves when every engine has loaded or failed (failures are in the status, never thrown). */
  whenLoaded(): Promise<void> {
    return this.loaded;
  }

  getStatus(): VoiceStatus {
    return { ...this.engines.status, settings: this.settings, state: this.state };
  }

  /** Swaps the interruption policy (e.g. never interrupt); it applies from the next decision on. */
  useInterruptionPolicy(policy: InterruptionPolicy): void {
    this.interruption = policy;
  }

  async configure(patch: Partial<VoiceSettings> & { conversationId?: string | null }): Promise<VoiceSettings> {
    const { conversationId, ...settings } = patch;
    // Checked before anything changes: a rejected voice leaves every setting as it was.
    if (settings.voice !== undefined) this.engines.checkVoice(settings.voice);
    if (conversationId !== undefined) this.conversationId = conversationId ?? undefined;
    const previous = this.settings;
    this.settings = { ...this.settings, ...settings };
    if (this.settings.muted && !previous.muted) this.resetCapture();
    if (this.settings.mode !== previous.mode) this.resetCapture();
    if (this.settings.endSilenceMs !== previous.endSilenceMs || this.settings.minSpeechMs !== previous.minSpeechMs) {
      await this.engines.reloadVad(this.turnTaking());
    }
    this.emitStatus();
    return this.settings;
  }

  /**
   * Push-to-talk key down/up. Down while the assistant is transcribing, thinking or speaking is a barge-in (as the
   * interruption policy says). In hands-free mode, where the VAD hears the user, the key only interrupts.
   */
  ptt(pressed: boolean): VoiceState {
    if (!pressed) this.pushToTalk.release();
    else if (!this.pushToTalk.held) {
      this.maybeInterrupt('talk-key');
      if (this.settings.mode === 'push-to-talk') this.pushToTalk.press();
    }
    return this.state;
  }

  /** Stop speaking and cancel the voice turn (stop button). */
  interrupt(): boolean {
    return this.bargeIn('cancel');
  }

  /** One mic frame (16 kHz mono). Frames are processed strictly in order. */
  pushFrame(frame: Int16Array): Promise<void> {
    return this.frames
      .add(async () => {
        if (!this.settings.muted) await this.detector().push(frame);
      })
      .catch((error: unknown) => this.options.emit({ type: 'error', ...toErrorShape(error) }));
  }

  /**
   * Ends the mic stream (e.g. the end of a file): a turn in progress is completed. Resolves once every utterance
   * heard has been transcribed (its final transcript or error emitted, its chat turn started), with how many
   * utterances were heard since the previous `endOfInput`. 0 means the input held no speech (silence, noise, a
   * click): no transcript, turn or error will follow for it.
   */
  async endOfInput(): Promise<EndOfInputResult> {
    await this.frames.add(() => this.detector().flush());
    return { utterances: await this.utterances.drain() };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.bargeIn('cancel');
    this.endHearing();
    clearTimeout(this.idleTimer);
    this.unlisten();
    await this.loaded;
    await this.frames.onIdle();
    await this.utterances.drain();
    await this.engines.dispose();
  }

  private detector(): TurnDetector {
    return this.settings.mode === 'push-to-talk' ? this.pushToTalk : this.handsFree;
  }

  private turnTaking(): TurnTakingConfig {
    return {
      endSilenceMs: this.settings.endSilenceMs,
      minSpeechMs: this.settings.minSpeechMs,
      maxUtteranceMs: this.options.maxUtteranceMs ?? 60_000,
      preRollMs: PRE_ROLL_MS,
    };
  }

  /** Where the assistant is with its current turn; undefined when it is doing nothing the user could interrupt. */
  private activity(): AssistantActivity | undefined {
    return this.playback.audible ? 'speaking' : this.active?.activity;
  }

  /** Asks the interruption policy, and barges in when it says so. */
  private maybeInterrupt(trigger: InterruptionTrigger): void {
    const activity = this.activity();
    if (activity && this.interruption.shouldInterrupt({ trigger, activity })) this.bargeIn('barge-in');
  }

  /** One utterance, in its turn: interrupt (or wait for) the answer before it, transcribe it, start its chat turn. */
  private async handleUtterance(utterance: QueuedUtterance): Promise<void> {
    if (this.disposed) return;
    const activity = this.activity();
    if (activity) {
      if (this.interruption.shouldInterrupt({ trigger: 'next-question', activity })) this.bargeIn('barge-in');
      else await this.active?.ended;
    }
    const transcriber = this.engines.transcriber;
    if (!transcriber) {
      this.setState('idle');
      this.options.emit({
        type: 'error',
        code: 'STT_UNAVAILABLE',
        message: `Speech recognition is not available: ${this.engines.status.stt.message ?? 'it is still loading'}. Text chat still works.`,
      });
      return;
    }
    const turn: VoiceTurn = new VoiceTurn(utterance.id, {
      chat: this.options.chat,
      transcriber,
      synthesizer: this.engines.synthesizer,
      voice: { voice: this.settings.voice, rate: this.settings.rate },
      emit: this.options.emit,
      onAudio: (turnId, durationMs) => {
        this.playback.queued(turnId, durationMs);
        if (this.active === turn) this.setState('speaking');
      },
      onEnded: () => this.turnEnded(turn),
    });
    this.active = turn;
    this.setState('transcribing');
    const text = await turn.transcribe(utterance.audio);
    if (text === undefined) return;
    this.setState('thinking');
    const started = await turn.answer(text, this.conversationId, utterance.endedAt);
    if (started) this.conversationId = started.conversationId;
  }

  /** Stops the current turn wherever it is (transcribing, thinking, speaking). Returns whether there was one. */
  private bargeIn(reason: 'barge-in' | 'cancel'): boolean {
    const turn = this.active;
    const audibleTurnId = this.playback.turnId;
    if (!turn && !this.playback.audible) return false;
    const stoppedTurnId = turn?.turnId ?? audibleTurnId;
    // Cancelling a turn whose text is already complete marks its answer interrupted.
    if (stoppedTurnId && !turn?.turnId) this.options.chat.cancelTurn(stoppedTurnId);
    this.active = undefined;
    turn?.stop();
    this.playback.stop();
    clearTimeout(this.idleTimer);
    this.options.emit({ type: 'speech-stop', turnId: stoppedTurnId ?? null, reason });
    this.setState(this.settings.mode === 'hands-free' ? 'listening' : 'idle');
    return true;
  }

  /** A turn ended by itself; the assistant stays "speaking" until the audio already sent has played out. */
  private turnEnded(turn: VoiceTurn): void {
    if (this.active !== turn) return;
    this.active = undefined;
    clearTimeout(this.idleTimer);
    const remaining = this.playback.remainingMs();
    const settle = () => this.setState(this.pushToTalk.held ? 'listening' : 'idle');
    if (remaining > 0) {
      this.setState('speaking');
      this.idleTimer = setTimeout(settle, remaining);
    } else {
      settle();
    }
  }

  /** A new utterance begins: it gets its id, and partial transcripts of its audio start. */
  private beginHearing(audioSoFar: () => Int16Array[]): void {
    this.hearing = randomUUID();
    this.partials.start(this.hearing, audioSoFar);
  }

  /** The utterance is complete: partials stop (a late one is dropped) and its id goes to the final transcript. */
  private endHearing(): string {
    const id = this.hearing ?? randomUUID();
    this.hearing = undefined;
    this.partials.stop();
    return id;
  }

  private resetCapture(): void {
    this.pushToTalk.reset();
    this.handsFree.reset();
    this.hearing = undefined;
    this.partials.stop();
    if (!this.active) this.setState('idle');
  }

  private setState(state: VoiceState): void {
    if (state === this.state) return;
    this.state = state;
    this.options.emit({ type: 'voice-state', state });
  }

  private emitStatus(): void {
    this.options.emit({ type: 'voice-status', status: this.getStatus() });
    this.noticeTextOnly();
  }

  /**
   * A notice when voice stops working (text only), once per change: speech recognition did not load (questions must be
   * typed), or the built-in voice did not (answers are shown, not spoken); and one when it works again.
   */
  private noticeTextOnly(): void {
    const { stt, tts } = this.engines.status;
    const down = (state: string) => state === 'missing' || state === 'error';
    // The first line of the reason; the status keeps all of it (where the model was looked for).
    const why = (engine: { state: string; message?: string }) => (engine.message ?? engine.state).split('\n')[0];
    const parts: string[] = [];
    if (down(stt.state)) parts.push(`speech recognition is unavailable (${why(stt)}), so type your questions`);
    if (down(tts.state) && this.settings.voice.startsWith('flite:')) {
      parts.push(`the built-in voice is unavailable (${why(tts)}), so answers are shown, not spoken`);
    }
    const message = parts.length > 0 ? `Voice is limited to text: ${parts.join('; ')}.` : undefined;
    if ((message === undefined) === (this.textOnly === undefined)) {
      this.textOnly = message;
      return;
    }
    this.textOnly = message;
    this.options.emit(
      message === undefined ? { type: 'notice', level: 'info', message: 'Voice works again.' } : { type: 'notice', level: 'warning', message },
    );
  }
}
