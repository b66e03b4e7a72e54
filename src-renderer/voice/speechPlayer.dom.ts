import type { AgentEvent } from '../../src-shared/contract/index.js';
import { decodePcm16Base64 } from './pcmBase64.js';

type SpeechAudio = Extract<AgentEvent, { type: 'speech-audio' }>;
type SpeechSentence = Extract<AgentEvent, { type: 'speech-sentence' }>;

/**
 * What reached the speakers, measured after the last node before the output. Exposed as `window.__assistantAudio`
 * as a test and diagnostic hook (the e2e tests assert that non-silent speech was played); nothing in the app reads it.
 */
export interface PlaybackDiagnostics {
  /** Chunks (sentences) that played, fully or until stopped. */
  chunksPlayed: number;
  /** Samples (at each chunk's own rate) that played. */
  samplesPlayed: number;
  /** Largest absolute sample value seen at the output, 0..1. */
  peak: number;
  playing: boolean;
}

/** Lead time for the first chunk, so its start is not already in the past when the audio thread sees it. */
const START_LEAD_SECONDS = 0.02;
const METER_INTERVAL_MS = 25;
/** Turn bookkeeping kept for late chunks; older turns are long finished. */
const REMEMBERED_TURNS = 32;

interface ScheduledChunk {
  source: AudioBufferSourceNode;
  startAt: number;
  sampleCount: number;
  sampleRate: number;
}

interface TurnQueue {
  nextSeq: number;
  /** Chunks that arrived ahead of a missing earlier one. */
  waiting: Map<number, SpeechAudio>;
}

/**
 * Plays the agent's spoken answer: `speech-audio` chunks are scheduled back to back in `seq` order as they arrive
 * (WebAudio), or, for a system voice, `speech-sentence` texts are spoken with speechSynthesis. `stop` silences
 * everything at once and drops whatever still arrives for the stopped turns (barge-in, cancel).
 */
export class SpeechPlayer {
  readonly diagnostics: PlaybackDiagnostics = { chunksPlayed: 0, samplesPlayed: 0, peak: 0, playing: false };
  private context: AudioContext | undefined;
  private output: AnalyserNode | undefined;
  private meterSamples: Float32Array<ArrayBuffer> | undefined;
  private meterTimer: ReturnType<typeof setInterval> | undefined;
  private readonly scheduled = new Set<ScheduledChunk>();
  private queueEndsAt = 0;
  private readonly turns = new Map<string, TurnQueue>();
  private readonly stoppedTurns = new Set<string>();
  private readonly utterances = new Set<SpeechSynthesisUtterance>();
  private readonly playingListeners = new Set<(playing: boolean) => void>();

  get playing(): boolean {
    return this.diagnostics.playing;
  }

  onPlayingChange(listener: (playing: boolean) => void): () => void {
    this.playingListeners.add(listener);
    return () => this.playingListeners.delete(listener);
  }

  /** Creates or resumes the audio output; call it from a user gesture, which browsers require before sound. */
  unlock(): void {
    const context = this.ensureContext();
    if (context.state === 'suspended') void context.resume();
  }

  enqueueAudio(chunk: SpeechAudio): void {
    if (this.stoppedTurns.has(chunk.turnId)) return;
    const turn = this.turnQueue(chunk.turnId);
    if (chunk.seq < turn.nextSeq) return;
    turn.waiting.set(chunk.seq, chunk);
    for (let next = turn.waiting.get(turn.nextSeq); next; next = turn.waiting.get(turn.nextSeq)) {
      turn.waiting.delete(turn.nextSeq);
      turn.nextSeq++;
      this.schedule(next);
    }
  }

  /** Speaks one sentence with the platform's voice; the platform queues sentences in order. */
  speakSentence(sentence: SpeechSentence, voice: SpeechSynthesisVoice | undefined, rate: number): void {
    if (this.stoppedTurns.has(sentence.turnId)) return;
    this.turnQueue(sentence.turnId);
    const utterance = new SpeechSynthesisUtterance(sentence.text);
    if (voice) utterance.voice = voice;
    utterance.rate = rate;
    const finished = () => {
      if (this.utterances.delete(utterance)) this.updatePlaying();
    };
    utterance.onend = finished;
    utterance.onerror = finished;
    this.utterances.add(utterance);
    speechSynthesis.speak(utterance);
    this.updatePlaying();
  }

  /** Stops all playback now. Chunks and sentences that still arrive for `turnId`, or any turn heard so far, are dropped. */
  stop(turnId: string | null): void {
    if (turnId !== null) this.rememberStopped(turnId);
    for (const known of this.turns.keys()) this.rememberStopped(known);
    this.turns.clear();
    const now = this.context?.currentTime ?? 0;
    for (const chunk of this.scheduled) {
      chunk.source.onended = null;
      chunk.source.stop();
      this.countPlayed(chunk, Math.max(0, now - chunk.startAt));
    }
    this.scheduled.clear();
    this.queueEndsAt = 0;
    if (this.utterances.size > 0) {
      this.utterances.clear();
      speechSynthesis.cancel();
    }
    this.updatePlaying();
  }

  private turnQueue(turnId: string): TurnQueue {
    let turn = this.turns.get(turnId);
    if (!turn) {
      turn = { nextSeq: 0, waiting: new Map() };
      this.turns.set(turnId, turn);
      if (this.turns.size > REMEMBERED_TURNS) this.turns.delete(this.turns.keys().next().value!);
    }
    return turn;
  }

  private rememberStopped(turnId: string): void {
    this.stoppedTurns.add(turnId);
    if (this.stoppedTurns.size > REMEMBERED_TURNS) this.stoppedTurns.delete(this.stoppedTurns.values().next().value!);
  }

  private schedule(chunk: SpeechAudio): void {
    const samples = decodePcm16Base64(chunk.pcmBase64);
    if (samples.length === 0) return;
    const context = this.ensureContext();
    if (context.state === 'suspended') void context.resume();
    const buffer = context.createBuffer(1, samples.length, chunk.sampleRate);
    buffer.copyToChannel(samples, 0);
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.output!);
    const startAt = Math.max(context.currentTime + START_LEAD_SECONDS, this.queueEndsAt);
    source.start(startAt);
    this.queueEndsAt = startAt + buffer.duration;
    const scheduled: ScheduledChunk = { source, startAt, sampleCount: samples.length, sampleRate: chunk.sampleRate };
    this.scheduled.add(scheduled);
    source.onended = () => {
      if (!this.scheduled.delete(scheduled)) return;
      this.countPlayed(scheduled, buffer.duration);
      this.updatePlaying();
    };
    this.updatePlaying();
  }

  private countPlayed(chunk: ScheduledChunk, playedSeconds: number): void {
    const samples = Math.min(chunk.sampleCount, Math.round(playedSeconds * chunk.sampleRate));
    if (samples <= 0) return;
    this.diagnostics.chunksPlayed++;
    this.diagnostics.samplesPlayed += samples;
  }

  private ensureContext(): AudioContext {
    if (!this.context) {
      this.context = new AudioContext();
      // Everything plays through an analyser, so the diagnostics measure what actually reached the output.
      this.output = this.context.createAnalyser();
      this.output.fftSize = 2048;
      this.output.connect(this.context.destination);
      this.meterSamples = new Float32Array(this.output.fftSize);
    }
    return this.context;
  }

  private updatePlaying(): void {
    const playing = this.scheduled.size > 0 || this.utterances.size > 0;
    if (this.scheduled.size > 0) this.startMeter();
    else this.stopMeter();
    if (playing === this.diagnostics.playing) return;
    this.diagnostics.playing = playing;
    for (const listener of this.playingListeners) listener(playing);
  }

  private startMeter(): void {
    this.meterTimer ??= setInterval(() => {
      if (!this.output || !this.meterSamples) return;
      this.output.getFloatTimeDomainData(this.meterSamples);
      let peak = this.diagnostics.peak;
      for (const sample of this.meterSamples) peak = Math.max(peak, Math.abs(sample));
      this.diagnostics.peak = peak;
    }, METER_INTERVAL_MS);
  }

  private stopMeter(): void {
    clearInterval(this.meterTimer);
    this.meterTimer = undefined;
  }
}
