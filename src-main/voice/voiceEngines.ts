import { AgentError, VoiceId, toErrorShape, type VoiceStatus } from '../../src-shared/contract/index.js';
import type { SpeechTranscriber } from './stt/speechTranscriber.js';
import type { SpeechSynthesizer } from './tts/speechSynthesizer.js';
import type { TurnTakingConfig, VoiceActivityDetector } from './vad/voiceActivityDetector.js';

/** The engines, injected so each stage can be swapped (whisper/sphinx, flite/system) and tested alone. */
export interface VoiceEngines {
  loadVad(turnTaking: TurnTakingConfig): Promise<VoiceActivityDetector>;
  /** Throws AgentError when no recogniser is available (the app still starts; voice says what is missing). */
  createTranscriber(): SpeechTranscriber;
  /**
   * With `auto`, the recogniser to use when the chosen one fails to load (a damaged Whisper model: PocketSphinx), or
   * undefined when there is none.
   */
  createFallbackTranscriber?(): SpeechTranscriber | undefined;
  synthesizer: SpeechSynthesizer & { warmUp?(): Promise<void>; dispose?(): Promise<void> };
}

export type EngineStatus = Omit<VoiceStatus, 'settings' | 'state'>;

/**
 * Loads the voice engines at startup, all at once, and keeps their status: ready, loading, missing (with the fix)
 * or failed, and which voices there are. A failure is kept in the status, never thrown, so the app starts and text chat works without voice.
 */
export class VoiceEngineLoader {
  vad: VoiceActivityDetector | undefined;
  transcriber: SpeechTranscriber | undefined;
  readonly status: EngineStatus;

  constructor(private readonly engines: VoiceEngines) {
    const loading = { state: 'loading', engine: null } as const;
    this.status = { stt: loading, tts: { ...loading, voices: [] }, vad: loading };
  }

  get synthesizer(): VoiceEngines['synthesizer'] {
    return this.engines.synthesizer;
  }

  /** Throws INVALID_MESSAGE, naming the voices there are, unless `voice` is a built-in flite voice or a well-formed system voice. */
  checkVoice(voice: string): void {
    const fliteVoices = this.engines.synthesizer.voices.map((name) => `flite:${name}`);
    const known = voice.startsWith('flite:') ? fliteVoices.includes(voice) : VoiceId.safeParse(voice).success;
    if (known) return;
    // JSON quoting shows control characters escaped instead of writing them into a log or terminal.
    const shown = JSON.stringify(voice.length > 80 ? `${voice.slice(0, 80)}…` : voice);
    throw new AgentError(
      'INVALID_MESSAGE',
      `Unknown voice ${shown}. The voices are: ${fliteVoices.join(', ')}; or "system:<voice name>" for one of the system's voices, spoken by the app window.`,
    );
  }

  /** Resolves when every engine has loaded or failed. */
  async load(turnTaking: TurnTakingConfig): Promise<void> {
    await Promise.all([this.loadSynthesizer(), this.loadTranscriber(), this.reloadVad(turnTaking)]);
  }

  /** Loads the VAD again with new turn-taking settings. */
  async reloadVad(turnTaking: TurnTakingConfig): Promise<void> {
    const previous = this.vad;
    this.vad = undefined;
    await previous?.dispose();
    try {
      this.vad = await this.engines.loadVad(turnTaking);
      this.status.vad = { state: 'ready', engine: 'silero' };
    } catch (error) {
      const shape = toErrorShape(error);
      this.status.vad = { state: shape.code === 'MODEL_MISSING' ? 'missing' : 'error', engine: 'silero', message: shape.message };
    }
  }

  async dispose(): Promise<void> {
    await this.vad?.dispose();
    await this.transcriber?.dispose();
    await this.engines.synthesizer.dispose?.();
  }

  private async loadSynthesizer(): Promise<void> {
    const { synthesizer } = this.engines;
    try {
      await synthesizer.warmUp?.();
      this.status.tts = { state: 'ready', engine: 'flite', voices: synthesizer.voices.map((v) => `flite:${v}`) };
    } catch (error) {
      this.status.tts = { state: 'error', engine: 'flite', voices: [], message: toErrorShape(error).message };
    }
  }

  private async loadTranscriber(): Promise<void> {
    try {
      const transcriber = this.engines.createTranscriber();
      this.status.stt = { state: 'loading', engine: transcriber.engine };
      await transcriber.load();
      this.transcriber = transcriber;
      this.status.stt = { state: 'ready', engine: transcriber.engine };
    } catch (error) {
      const shape = toErrorShape(error);
      if (await this.loadFallbackTranscriber(shape.message)) return;
      const missing = shape.code === 'MODEL_MISSING' || shape.code === 'STT_UNAVAILABLE';
      this.status.stt = { state: missing ? 'missing' : 'error', engine: null, message: shape.message };
    }
  }

  /** The chosen recogniser failed: the fallback, if there is one, with the reason kept in the status message. */
  private async loadFallbackTranscriber(reason: string): Promise<boolean> {
    let fallback: SpeechTranscriber | undefined;
    try {
      fallback = this.engines.createFallbackTranscriber?.();
      if (!fallback) return false;
      await fallback.load();
    } catch {
      return false;
    }
    this.transcriber = fallback;
    this.status.stt = { state: 'ready', engine: fallback.engine, message: `Using ${fallback.engine} instead: ${reason}` };
    return true;
  }
}
