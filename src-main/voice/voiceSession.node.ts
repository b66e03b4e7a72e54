import { randomUUID } from 'node:crypto';
import PQueue from 'p-queue';
import {
  DEFAULT_VOICE_SETTINGS,
  toErrorShape,
  type AgentEvent,
  type EndSilenceStatus,
  type VoiceSettings,
  type VoiceState,
  type VoiceStatus,
} from '../../src-shared/contract/index.js';
import { AnswerPlayback } from './turn/answerPlayback.js';
import { bargeInInterruptionPolicy, type AssistantActivity, type InterruptionPolicy, type InterruptionTrigger } from './turn/interruptionPolicy.js';
import { LiveRecognition, type HeardUtterance } from './turn/liveRecognition.js';
import { normaliseSpokenQuestion } from '../agent/turn/speculativeTurn.js';
import { PushToTalkDetector } from './turn/pushToTalkDetector.js';
import type { DetectedUtterance, TurnDetector } from './turn/turnDetector.js';
import { UtteranceQueue } from './turn/utteranceQueue.js';
import { VadTurnDetector } from './turn/vadTurnDetector.js';
import type { TurnTakingConfig } from './vad/voiceActivityDetector.js';
import type { SpeculativeTurnHandle, VoiceChatPort } from './voiceChatPort.js';
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
  /** Its recognition, which ran while the user spoke; undefined when no recogniser was loaded. */
  heard: HeardUtterance | undefined;
}

/** What speculation did, for the benchmark and the waterfall: turns prepared early, and how many were kept. */
export interface SpeculationCounts {
  started: number;
  adopted: number;
  discarded: number;
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
  private readonly live: LiveRecognition;
  private readonly playback = new AnswerPlayback();
  /** The utterance being heard: its partial and final transcripts share this id. */
  private hearing: string | undefined;
  /** The turn being prepared on the words of the utterance being heard, while the user pauses. */
  private speculation: { utteranceId: string; handle: SpeculativeTurnHandle } | undefined;
  /** The last utterance a turn was prepared for (kept or dropped since). */
  private speculatedFor: string | undefined;
  readonly speculationCounts: SpeculationCounts = { started: 0, adopted: 0, discarded: 0 };
  /** The end-of-speech silence in use (hands-free), as the status shows it. */
  private endSilence: EndSilenceStatus | undefined;
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
        utterance: (utterance) => this.utterances.add({ ...utterance, ...this.endHearing() }),
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
          const heard = this.endHearing();
          if (utterance.capped) {
            options.emit({ type: 'notice', level: 'warning', message: 'That was over a minute long; only the first minute was used.' });
          }
          this.utterances.add({ ...utterance, ...heard });
        },
        tooShort: () => undefined,
        speechPaused: (silentMs) => this.live.paused(silentMs),
        speechResumed: () => this.live.resumed(),
      },
      () => this.engines.vad,
      () => this.playback.audible,
    );
    this.utterances = new UtteranceQueue((utterance) => this.handleUtterance(utterance));
    this.live = new LiveRecognition({
      emit: options.emit,
      settings: () => this.settings,
      endSilenceChanged: (status) => this.useEndSilence(status),
      settledOn: (utteranceId, text) => this.speculate(utteranceId, text),
      speechGoesOn: (utteranceId) => this.dropSpeculation(utteranceId),
    });
    this.unlisten = options.chat.listen((event) => this.active?.onChatEvent(event));
    this.loaded = this.engines.load(this.turnTaking()).then(() => this.emitStatus());
  }

  /** Resolves when every engine has loaded or failed (failures are in the status, never thrown). */
  whenLoaded(): Promise<void> {
    return this.loaded;
  }

  getStatus(): VoiceStatus {
    const endSilence = this.endSilence ?? { baseMs: this.settings.endSilenceMs, currentMs: this.settings.endSilenceMs, reason: this.settings.adaptiveEndSilence ? 'base' : 'fixed' };
    return { ...this.engines.status, settings: this.settings, state: this.state, endSilence };
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
    if (this.settings.endSilenceMs !== previous.endSilenceMs || this.settings.adaptiveEndSilence !== previous.adaptiveEndSilence) {
      this.endSilence = undefined;
    }
    if (!this.settings.speculativeTurns) this.dropSpeculation();
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
        if (this.settings.muted) return;
        await this.detector().push(frame);
        // Recognition hears the utterance while it is spoken.
        this.live.feed();
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
    this.endHearing()?.heard?.cancel();
    this.discardSpeculation();
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
    if (!utterance.heard) {
      this.discardSpeculation(utterance.id);
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
    const text = await turn.transcribe(utterance.heard);
    const speculated = this.speculatedFor === utterance.id;
    const handle = this.takeSpeculation(utterance.id, text);
    if (text === undefined) return;
    this.setState('thinking');
    const started = await turn.answer(text, this.conversationId, utterance.endedAt, { handle, speculated }, this.settings.council === true);
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

  /** A new utterance begins: it gets its id, and its recognition starts on the audio heard so far. */
  private beginHearing(audioSoFar: () => Int16Array[]): void {
    this.hearing = randomUUID();
    this.live.start(this.hearing, this.engines.transcriber, audioSoFar);
  }

  /** The utterance is complete: what recognition has left to do goes with its id to the queue. */
  private endHearing(): { id: string; heard: HeardUtterance | undefined } {
    const id = this.hearing ?? randomUUID();
    this.hearing = undefined;
    const heard = this.live.utteranceId === id ? this.live.end() : undefined;
    this.live.abandon();
    this.restoreEndSilence();
    return { id, heard };
  }

  /** The end-of-speech silence for the utterance in progress changed (the words so far, see endSilenceFor). */
  private useEndSilence(status: EndSilenceStatus): void {
    if (this.settings.mode === 'hands-free') this.handsFree.setEndSilenceMs(status.currentMs);
    const previous = this.endSilence;
    this.endSilence = status;
    if (previous?.currentMs !== status.currentMs || previous.reason !== status.reason || previous.baseMs !== status.baseMs) this.emitStatus();
  }

  /** After an utterance the next one starts from the configured value (the VAD resets it itself). */
  private restoreEndSilence(): void {
    const base = this.settings.endSilenceMs;
    if (this.endSilence === undefined || (this.endSilence.currentMs === base && this.endSilence.reason !== 'complete-question')) return;
    this.endSilence = { baseMs: base, currentMs: base, reason: this.settings.adaptiveEndSilence ? 'base' : 'fixed' };
    this.emitStatus();
  }

  /**
   * The user paused and recognition has caught up: the answer's prepare steps start on these words now. If the
   * final transcript says the same, the turn keeps what was done; otherwise it is dropped unseen.
   */
  private speculate(utteranceId: string, text: string): void {
    const speculate = this.options.chat.speculate;
    if (!this.settings.speculativeTurns || !speculate || this.disposed) return;
    this.discardSpeculation();
    this.speculation = { utteranceId, handle: speculate({ text, conversationId: this.conversationId }) };
    this.speculatedFor = utteranceId;
    this.speculationCounts.started++;
  }

  /** The user went on speaking: the turn prepared on the earlier words is dropped. */
  private dropSpeculation(utteranceId?: string): void {
    if (utteranceId === undefined || this.speculation?.utteranceId === utteranceId) this.discardSpeculation();
  }

  private discardSpeculation(utteranceId?: string): void {
    const speculation = this.speculation;
    if (!speculation || (utteranceId !== undefined && speculation.utteranceId !== utteranceId)) return;
    this.speculation = undefined;
    speculation.handle.cancel();
    this.speculationCounts.discarded++;
  }

  /** The speculation of `utteranceId` when its words are the final transcript's; any other is dropped. */
  private takeSpeculation(utteranceId: string, finalText: string | undefined): SpeculativeTurnHandle | undefined {
    const speculation = this.speculation;
    if (!speculation || speculation.utteranceId !== utteranceId) return undefined;
    if (finalText === undefined || normaliseSpokenQuestion(finalText) !== normaliseSpokenQuestion(speculation.handle.question)) {
      this.discardSpeculation(utteranceId);
      return undefined;
    }
    this.speculation = undefined;
    this.speculationCounts.adopted++;
    return speculation.handle;
  }

  private resetCapture(): void {
    this.pushToTalk.reset();
    this.handsFree.reset();
    this.hearing = undefined;
    this.live.abandon();
    this.discardSpeculation();
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
