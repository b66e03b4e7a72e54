import { randomUUID } from 'node:crypto';
import { concatSamples } from '../../src-shared/audio/sampleArrays.js';
import {
  AgentError,
  DEFAULT_VOICE_SETTINGS,
  VoiceId,
  MIC_SAMPLE_RATE,
  toErrorShape,
  type AgentEvent,
  type VoiceSettings,
  type VoiceState,
  type VoiceStatus,
} from '../../src-shared/contract/index.js';
import { SpeakingTurn } from './answerSpeaker.node.js';
import type { SpeechTranscriber } from './stt/speechTranscriber.js';
import type { SpeechSynthesizer } from './tts/speechSynthesizer.js';
import { rmsDbfs } from './vad/energyGate.js';
import type { TurnTakingConfig, VoiceActivityDetector } from './vad/voiceActivityDetector.js';
import { VoiceTurnTimer } from './voiceTurnTimer.js';

/** What the voice session needs from the text-chat side of the agent. */
export interface VoiceChatPort {
  startTurn(text: string, conversationId: string | undefined): Promise<{ turnId: string; conversationId: string }>;
  cancelTurn(turnId: string): void;
  listen(listener: (event: AgentEvent) => void): () => void;
}

/** The engines, injected so each stage can be swapped (whisper/sphinx, flite/system) and tested alone. */
export interface VoiceEngines {
  loadVad(turnTaking: TurnTakingConfig): Promise<VoiceActivityDetector>;
  /** Throws AgentError when no recogniser is available (the app still starts; voice says what is missing). */
  createTranscriber(): SpeechTranscriber;
  synthesizer: SpeechSynthesizer & { warmUp?(): Promise<void>; dispose?(): Promise<void> };
}

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
}

export interface EndOfInputResult {
  /** Utterances heard (and transcribed) since the previous `endOfInput`; 0 when the input held no speech. */
  utterances: number;
}

/** While the assistant is audible, quieter mic audio is treated as its own echo, so it cannot barge in on itself. */
const SPEAKING_GATE_DBFS = -35;
const PRE_ROLL_MS = 200;

type EngineStatus = VoiceStatus['stt'];

interface ActiveVoiceTurn {
  utteranceId: string;
  timer: VoiceTurnTimer;
  turnId?: string;
  speaking?: SpeakingTurn;
  /** Set when the user barged in or cancelled: everything still arriving for this turn is ignored. */
  abandoned: boolean;
  transcription?: AbortController;
}

/**
 * One voice conversation: mic frames → VAD (or push-to-talk) → speech-to-text → chat turn → sentence splitter →
 * text-to-speech → audio events. Handles turn-taking, barge-in, the mic gate while speaking and the waterfall.
 */
export class VoiceSession {
  private settings: VoiceSettings;
  private state: VoiceState = 'idle';
  private vad: VoiceActivityDetector | undefined;
  private transcriber: SpeechTranscriber | undefined;
  private status: Omit<VoiceStatus, 'settings' | 'state'>;
  private conversationId: string | undefined;
  private active: ActiveVoiceTurn | undefined;
  private pttHeld = false;
  private pttFrames: Int16Array[] = [];
  /** The utterance being heard (push-to-talk held, or speech detected): its partial and final transcripts share this id. */
  private utteranceId: string | undefined;
  /** Hands-free: audio of the utterance in progress, for partial transcripts. */
  private speechFrames: Int16Array[] | undefined;
  private partialTimer: NodeJS.Timeout | undefined;
  private partialInFlight = false;
  private partialEveryMs = 0;
  /** When the audio already sent to the renderer finishes playing (estimated from durations). */
  private audibleUntil = 0;
  /** The turn whose audio is playing, kept after its text is done so a barge-in can still stop and mark it. */
  private audibleTurnId: string | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private framesQueue: Promise<void> = Promise.resolve();
  /** Utterances being transcribed and started as turns. */
  private readonly utterancesInFlight = new Set<Promise<void>>();
  private utteranceChain: Promise<void> = Promise.resolve();
  /** Utterances handed to the recogniser since the last `endOfInput`. */
  private utterancesHeard = 0;
  private readonly unlisten: () => void;
  private readonly loaded: Promise<void>;

  constructor(private readonly options: VoiceSessionOptions) {
    this.settings = { ...DEFAULT_VOICE_SETTINGS, ...options.settings };
    const loading: EngineStatus = { state: 'loading', engine: null };
    this.status = { stt: loading, tts: { ...loading, voices: [] }, vad: loading };
    this.unlisten = options.chat.listen((event) => this.onChatEvent(event));
    this.loaded = this.loadEngines();
  }

  /** Resolves when every engine has loaded or failed (failures are in the status, never thrown). */
  whenLoaded(): Promise<void> {
    return this.loaded;
  }

  getStatus(): VoiceStatus {
    return { ...this.status, settings: this.settings, state: this.state };
  }

  async configure(patch: Partial<VoiceSettings> & { conversationId?: string | null }): Promise<VoiceSettings> {
    const { conversationId, ...settings } = patch;
    // Checked before anything changes: a rejected voice leaves every setting as it was.
    if (settings.voice !== undefined) this.checkVoice(settings.voice);
    if (conversationId !== undefined) this.conversationId = conversationId ?? undefined;
    const previous = this.settings;
    this.settings = { ...this.settings, ...settings };
    if (this.settings.muted && !previous.muted) this.resetCapture();
    if (this.settings.mode !== previous.mode) this.resetCapture();
    if (this.settings.endSilenceMs !== previous.endSilenceMs || this.settings.minSpeechMs !== previous.minSpeechMs) {
      await this.reloadVad();
    }
    this.emitStatus();
    return this.settings;
  }

  /** Throws INVALID_MESSAGE, naming the voices there are, unless `voice` is a built-in flite voice or a well-formed system voice. */
  private checkVoice(voice: string): void {
    const fliteVoices = this.options.engines.synthesizer.voices.map((name) => `flite:${name}`);
    const known = voice.startsWith('flite:') ? fliteVoices.includes(voice) : VoiceId.safeParse(voice).success;
    if (known) return;
    // JSON quoting shows control characters escaped instead of writing them into a log or terminal.
    const shown = JSON.stringify(voice.length > 80 ? `${voice.slice(0, 80)}…` : voice);
    throw new AgentError(
      'INVALID_MESSAGE',
      `Unknown voice ${shown}. The voices are: ${fliteVoices.join(', ')}; or "system:<voice name>" for one of the system's voices, spoken by the app window.`,
    );
  }

  /** Push-to-talk key down/up. Down while the assistant is thinking or speaking is a barge-in. */
  ptt(pressed: boolean): VoiceState {
    if (pressed) {
      if (this.pttHeld) return this.state;
      this.bargeIn('barge-in');
      this.pttHeld = true;
      this.pttFrames = [];
      this.setState('listening');
      this.startUtterance(() => this.pttFrames);
    } else if (this.pttHeld) {
      this.pttHeld = false;
      const utteranceId = this.endUtterance();
      const audio = concatSamples(Int16Array, this.pttFrames);
      this.pttFrames = [];
      const voicedMs = (audio.length * 1000) / MIC_SAMPLE_RATE;
      if (voicedMs < this.settings.minSpeechMs) {
        this.setState('idle');
        this.options.emit({ type: 'notice', level: 'info', message: 'That was too short to hear: hold the key while you speak.' });
      } else {
        this.trackUtterance(audio, utteranceId);
      }
    }
    return this.state;
  }

  /** Stop speaking and cancel the voice turn (stop button). */
  interrupt(): boolean {
    return this.bargeIn('cancel');
  }

  /** One mic frame (16 kHz mono). Frames are processed strictly in order. */
  pushFrame(frame: Int16Array): Promise<void> {
    this.framesQueue = this.framesQueue.then(() => this.processFrame(frame)).catch((error) => {
      this.options.emit({ type: 'error', ...toErrorShape(error) });
    });
    return this.framesQueue;
  }

  /**
   * Ends the mic stream (e.g. the end of a file): a turn in progress is completed. Resolves once every utterance
   * heard has been transcribed (its final transcript or error emitted, its chat turn started), with how many
   * utterances were heard since the previous `endOfInput`. 0 means the input held no speech (silence, noise, a
   * click): no transcript, turn or error will follow for it.
   */
  async endOfInput(): Promise<EndOfInputResult> {
    await this.framesQueue;
    if (this.vad) {
      for (const event of await this.vad.flush()) await this.onVadEvent(event);
    }
    await Promise.all(this.utterancesInFlight);
    const utterances = this.utterancesHeard;
    this.utterancesHeard = 0;
    return { utterances };
  }

  async dispose(): Promise<void> {
    this.bargeIn('cancel');
    this.endUtterance();
    clearTimeout(this.idleTimer);
    this.unlisten();
    await this.loaded;
    await this.framesQueue;
    await Promise.all(this.utterancesInFlight);
    await this.vad?.dispose();
    await this.transcriber?.dispose();
    await this.options.engines.synthesizer.dispose?.();
  }

  private async loadEngines(): Promise<void> {
    const { engines } = this.options;
    const tts = (async () => {
      try {
        await engines.synthesizer.warmUp?.();
        this.status.tts = { state: 'ready', engine: 'flite', voices: engines.synthesizer.voices.map((v) => `flite:${v}`) };
      } catch (error) {
        this.status.tts = { state: 'error', engine: 'flite', voices: [], message: toErrorShape(error).message };
      }
    })();
    const stt = (async () => {
      try {
        const transcriber = engines.createTranscriber();
        this.status.stt = { state: 'loading', engine: transcriber.engine };
        await transcriber.load();
        this.transcriber = transcriber;
        const partial = this.options.partialTranscriptMs;
        this.partialEveryMs = partial === 'auto' ? (transcriber.engine === 'whisper' ? 1000 : 0) : partial;
        this.status.stt = { state: 'ready', engine: transcriber.engine };
      } catch (error) {
        const shape = toErrorShape(error);
        this.status.stt = { state: shape.code === 'MODEL_MISSING' || shape.code === 'STT_UNAVAILABLE' ? 'missing' : 'error', engine: null, message: shape.message };
      }
    })();
    await Promise.all([tts, stt, this.reloadVad()]);
    this.emitStatus();
  }

  private async reloadVad(): Promise<void> {
    const previous = this.vad;
    this.vad = undefined;
    await previous?.dispose();
    try {
      this.vad = await this.options.engines.loadVad({
        endSilenceMs: this.settings.endSilenceMs,
        minSpeechMs: this.settings.minSpeechMs,
        maxUtteranceMs: this.options.maxUtteranceMs ?? 60_000,
        preRollMs: PRE_ROLL_MS,
      });
      this.status.vad = { state: 'ready', engine: 'silero' };
    } catch (error) {
      const shape = toErrorShape(error);
      this.status.vad = { state: shape.code === 'MODEL_MISSING' ? 'missing' : 'error', engine: 'silero', message: shape.message };
    }
  }

  private async processFrame(frame: Int16Array): Promise<void> {
    if (this.settings.muted) return;
    if (this.settings.mode === 'push-to-talk') {
      if (this.pttHeld) this.pttFrames.push(frame);
      return;
    }
    if (!this.vad) return;
    // The mic gate: while the answer is audible, only clearly louder speech (the user) gets through.
    const gated = this.isAudible() && rmsDbfs(frame) < SPEAKING_GATE_DBFS ? new Int16Array(frame.length) : frame;
    this.speechFrames?.push(gated);
    for (const event of await this.vad.push(gated)) await this.onVadEvent(event);
  }

  private async onVadEvent(event: Awaited<ReturnType<VoiceActivityDetector['push']>>[number]): Promise<void> {
    if (this.settings.mode !== 'hands-free') return;
    if (event.type === 'speech-start') {
      // Speaking over an answer interrupts it. Speaking while the last utterance is still being transcribed does
      // not: that utterance is the user's own words and is answered first.
      if (this.answerUnderway()) this.bargeIn('barge-in');
      if (!this.active) this.setState('listening');
      this.speechFrames = [];
      this.startUtterance(() => this.speechFrames ?? []);
      return;
    }
    const utteranceId = this.endUtterance();
    this.speechFrames = undefined;
    if (event.capped) {
      this.options.emit({ type: 'notice', level: 'warning', message: 'That was over a minute long; only the first minute was used.' });
    }
    // Not awaited: mic frames keep flowing through the VAD while this utterance is transcribed, so the user can
    // barge in at once. endOfInput and dispose wait for it.
    this.trackUtterance(event.audio, utteranceId);
  }

  /** Utterances are handled one after another, in the order they were spoken. */
  private trackUtterance(audio: Int16Array, utteranceId: string): void {
    this.utterancesHeard++;
    const handling = this.utteranceChain.then(() => {
      // A new question interrupts the answer to the previous one.
      if (this.answerUnderway()) this.bargeIn('barge-in');
      return this.handleUtterance(audio, utteranceId);
    });
    this.utteranceChain = handling.catch(() => undefined);
    this.utterancesInFlight.add(handling);
    void handling.finally(() => this.utterancesInFlight.delete(handling)).catch(() => undefined);
  }

  /** The assistant is generating or speaking an answer (as opposed to still transcribing the question). */
  private answerUnderway(): boolean {
    return this.active?.turnId !== undefined || this.isAudible();
  }

  private async handleUtterance(audio: Int16Array, utteranceId: string): Promise<void> {
    const turn: ActiveVoiceTurn = { utteranceId, timer: new VoiceTurnTimer(performance.now()), abandoned: false };
    this.active = turn;
    const transcriber = this.transcriber;
    if (!transcriber) {
      this.active = undefined;
      this.setState('idle');
      this.options.emit({
        type: 'error',
        code: 'STT_UNAVAILABLE',
        message: `Speech recognition is not available: ${this.status.stt.message ?? 'it is still loading'}. Text chat still works.`,
      });
      return;
    }
    this.setState('transcribing');
    turn.transcription = new AbortController();
    let text: string;
    try {
      const transcript = await transcriber.transcribe(audio, { signal: turn.transcription.signal });
      text = transcript.noSpeech ? '' : transcript.text.trim();
    } catch (error) {
      if (turn.abandoned) return;
      this.finishTurn(turn);
      this.options.emit({ type: 'error', ...toErrorShape(error) });
      return;
    }
    if (turn.abandoned) return;
    turn.timer.transcriptReady();
    this.options.emit({ type: 'transcript', utteranceId: turn.utteranceId, final: true, text });
    if (text === '') {
      // Silence or noise: no turn, and nothing hallucinated.
      this.finishTurn(turn);
      return;
    }
    this.setState('thinking');
    try {
      const started = await this.options.chat.startTurn(text, this.conversationId);
      this.conversationId = started.conversationId;
      turn.turnId = started.turnId;
      turn.speaking = new SpeakingTurn(
        started.turnId,
        this.options.engines.synthesizer,
        { voice: this.settings.voice, rate: this.settings.rate },
        this.options.emit,
        {
          onSentence: () => turn.timer.firstSentence(),
          onAudio: (_seq, durationMs) => {
            turn.timer.firstAudio();
            this.audibleUntil = Math.max(this.audibleUntil, performance.now()) + durationMs;
            this.audibleTurnId = started.turnId;
            if (this.active === turn) this.setState('speaking');
          },
        },
      );
      if (turn.abandoned) this.options.chat.cancelTurn(started.turnId);
    } catch (error) {
      this.finishTurn(turn);
      this.options.emit({ type: 'error', ...toErrorShape(error) });
    }
  }

  private onChatEvent(event: AgentEvent): void {
    const turn = this.active;
    if (!turn?.speaking || !('turnId' in event) || event.turnId !== turn.turnId || turn.abandoned) return;
    if (event.type === 'token') {
      turn.timer.firstToken();
      turn.speaking.push(event.text);
    } else if (event.type === 'done') {
      void turn.speaking.end().then(() => {
        if (turn.abandoned) return;
        this.emitTimings(turn);
        this.finishTurn(turn);
      });
    } else if (event.type === 'error') {
      turn.speaking.cancel();
      this.finishTurn(turn);
    }
  }

  /** Stops the current turn wherever it is (transcribing, thinking, speaking). Returns whether there was one. */
  private bargeIn(reason: 'barge-in' | 'cancel'): boolean {
    const turn = this.active;
    const audible = this.isAudible();
    if (!turn && !audible) return false;
    const stoppedTurnId = turn?.turnId ?? (audible ? this.audibleTurnId : undefined);
    // Cancelling a turn whose text is already complete marks its answer interrupted.
    if (stoppedTurnId && !turn?.turnId) this.options.chat.cancelTurn(stoppedTurnId);
    if (turn) {
      turn.abandoned = true;
      turn.transcription?.abort();
      turn.speaking?.cancel();
      if (turn.turnId) this.options.chat.cancelTurn(turn.turnId);
      if (turn.turnId && turn.timer.waterfall().firstAudioMs !== null) this.emitTimings(turn);
      this.active = undefined;
    }
    this.audibleUntil = 0;
    this.audibleTurnId = undefined;
    clearTimeout(this.idleTimer);
    this.options.emit({ type: 'speech-stop', turnId: stoppedTurnId ?? null, reason });
    this.setState(this.settings.mode === 'hands-free' ? 'listening' : 'idle');
    return true;
  }

  private finishTurn(turn: ActiveVoiceTurn): void {
    if (this.active !== turn) return;
    this.active = undefined;
    clearTimeout(this.idleTimer);
    // Stay "speaking" until the audio already sent has played out.
    const remaining = this.audibleUntil - performance.now();
    const settle = () => this.setState(this.pttHeld ? 'listening' : 'idle');
    if (remaining > 0) {
      this.setState('speaking');
      this.idleTimer = setTimeout(settle, remaining);
    } else {
      settle();
    }
  }

  private emitTimings(turn: ActiveVoiceTurn): void {
    if (!turn.turnId) return;
    this.options.emit({ type: 'voice-timings', turnId: turn.turnId, utteranceId: turn.utteranceId, waterfall: turn.timer.waterfall() });
  }

  private isAudible(): boolean {
    return this.audibleUntil > performance.now();
  }

  /** A new utterance begins: it gets its id, and partial transcripts of `audio` start. */
  private startUtterance(audio: () => Int16Array[]): void {
    const utteranceId = randomUUID();
    this.utteranceId = utteranceId;
    this.startPartials(utteranceId, audio);
  }

  /** The utterance is complete: partials stop (a late one is dropped) and its id goes to the final transcript. */
  private endUtterance(): string {
    const utteranceId = this.utteranceId ?? randomUUID();
    this.utteranceId = undefined;
    this.stopPartials();
    return utteranceId;
  }

  private startPartials(utteranceId: string, audio: () => Int16Array[]): void {
    this.stopPartials();
    if (this.partialEveryMs <= 0) return;
    this.partialTimer = setInterval(() => {
      const transcriber = this.transcriber;
      const frames = audio();
      if (!transcriber || this.partialInFlight || frames.length === 0) return;
      this.partialInFlight = true;
      transcriber
        .transcribe(concatSamples(Int16Array, frames), { partial: true })
        .then((partial) => {
          // Only while its utterance is still being heard: never after its final transcript, nor into the next one.
          if (this.utteranceId === utteranceId && !partial.noSpeech && partial.text.trim()) {
            this.options.emit({ type: 'transcript', utteranceId, final: false, text: partial.text.trim() });
          }
        })
        .catch(() => undefined)
        .finally(() => (this.partialInFlight = false));
    }, this.partialEveryMs);
  }

  private stopPartials(): void {
    clearInterval(this.partialTimer);
    this.partialTimer = undefined;
  }

  private resetCapture(): void {
    this.pttHeld = false;
    this.pttFrames = [];
    this.speechFrames = undefined;
    this.utteranceId = undefined;
    this.stopPartials();
    this.vad?.reset();
    if (!this.active) this.setState('idle');
  }

  private setState(state: VoiceState): void {
    if (state === this.state) return;
    this.state = state;
    this.options.emit({ type: 'voice-state', state });
  }

  private emitStatus(): void {
    this.options.emit({ type: 'voice-status', status: this.getStatus() });
  }
}
