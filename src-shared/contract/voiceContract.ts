import { z } from 'zod';
import { TurnId } from './agentEntities.js';

/** Microphone audio crosses the boundary as raw 16 kHz mono signed 16-bit little-endian PCM (binary frames). */
export const MIC_SAMPLE_RATE = 16_000;
/** Largest accepted mic frame: 1 s of audio. Renderers send ~20–100 ms frames. */
export const MAX_MIC_FRAME_BYTES = MIC_SAMPLE_RATE * 2;

/** Validates one binary mic frame; returns null (and the frame is dropped) when it is malformed. */
export function parseMicFrame(bytes: ArrayBuffer | Uint8Array): Int16Array | null {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (view.byteLength === 0 || view.byteLength % 2 !== 0 || view.byteLength > MAX_MIC_FRAME_BYTES) return null;
  // Copy so the samples are aligned and owned (a Node Buffer may be a slice of a shared pool).
  const copy = new Uint8Array(view.byteLength);
  copy.set(view);
  return new Int16Array(copy.buffer);
}

export const VoiceMode = z.enum(['push-to-talk', 'hands-free']);
export type VoiceMode = z.infer<typeof VoiceMode>;

/** Longest voice id: `system:` voice URIs are names such as "Microsoft Aria Online (Natural) - English (United States)". */
export const MAX_VOICE_ID_LENGTH = 256;

/**
 * `flite:<name>` is synthesized by the agent; `system:<voiceURI>` is spoken by the renderer's speechSynthesis.
 * The shape only: printable text (no control or format characters), not blank, bounded. Which flite voices exist
 * is checked by the agent.
 */
export const VoiceId = z
  .string()
  .max(MAX_VOICE_ID_LENGTH, `a voice id is at most ${MAX_VOICE_ID_LENGTH} characters`)
  .regex(/^(flite|system):(?!\s)[^\p{C}]*[^\p{C}\s]$/u, 'a voice is "flite:<name>" or "system:<voice name>", in printable characters');

export const VoiceSettings = z.object({
  mode: VoiceMode,
  muted: z.boolean(),
  voice: VoiceId,
  rate: z.number().min(0.5).max(2),
  /** Silence after speech that ends a hands-free turn (the base, when it adapts). */
  endSilenceMs: z.number().int().min(200).max(3000),
  minSpeechMs: z.number().int().min(50).max(2000),
  /** The end-of-speech silence adapts to the words so far: shorter after a complete question, longer after "and", "the", "um". */
  adaptiveEndSilence: z.boolean(),
  /** During a pause in speech, the answer's preparation starts before the turn has ended (discarded if the user goes on). */
  speculativeTurns: z.boolean(),
  /** Spoken questions go to a council of models (the chat model three times); only its final answer is spoken. */
  council: z.boolean().optional(),
});
export type VoiceSettings = z.infer<typeof VoiceSettings>;

export const DEFAULT_VOICE_SETTINGS: VoiceSettings = {
  mode: 'push-to-talk',
  muted: false,
  voice: 'flite:slt',
  rate: 1,
  endSilenceMs: 500,
  minSpeechMs: 250,
  adaptiveEndSilence: true,
  speculativeTurns: true,
};

export const VoiceState = z.enum(['idle', 'listening', 'transcribing', 'thinking', 'speaking']);
export type VoiceState = z.infer<typeof VoiceState>;

export const VoiceEngineStatus = z.object({
  state: z.enum(['loading', 'ready', 'missing', 'error']),
  engine: z.string().nullable(),
  message: z.string().optional(),
});
/**
 * Why the end-of-speech silence in use has its value: the words so far read as a complete question (shorter), end on
 * a hanging word such as "and" or "the" (longer), say nothing either way (`base`), or adapting is off (`fixed`).
 */
export const EndSilenceReason = z.enum(['complete-question', 'hanging-word', 'base', 'fixed']);
export type EndSilenceReason = z.infer<typeof EndSilenceReason>;

/** The end-of-speech silence in use now (hands-free), and the configured value it adapts from. */
export const EndSilenceStatus = z.object({
  baseMs: z.number().int().positive(),
  currentMs: z.number().int().positive(),
  reason: EndSilenceReason,
});
export type EndSilenceStatus = z.infer<typeof EndSilenceStatus>;

export const VoiceStatus = z.object({
  stt: VoiceEngineStatus,
  tts: VoiceEngineStatus.extend({ voices: z.array(z.string()) }),
  vad: VoiceEngineStatus,
  settings: VoiceSettings,
  state: VoiceState,
  /** Absent until the session reports it; then the settings' `endSilenceMs` is the value in use. */
  endSilence: EndSilenceStatus.optional(),
});
export type VoiceStatus = z.infer<typeof VoiceStatus>;

/** The per-turn latency waterfall, each in ms from the end of the user's speech. */
export const VoiceWaterfall = z.object({
  /** Recognition left to do after the end of speech (it ran while the user spoke). */
  transcriptMs: z.number().nonnegative(),
  /**
   * When the answer's preparation (history, cache, retrieval, input checks) was done; negative when it was done
   * before the end of speech, prepared speculatively during the user's pause.
   */
  preparedMs: z.number().nullable().optional(),
  /** Whether the turn was prepared speculatively on the partial transcript and kept (`adopted`), dropped, or not at all. */
  speculation: z.enum(['adopted', 'discarded', 'none']).optional(),
  firstTokenMs: z.number().nonnegative().nullable(),
  firstSentenceMs: z.number().nonnegative().nullable(),
  /** The first chunk of speech audio ready (the first clause of a long first sentence). */
  firstAudioMs: z.number().nonnegative().nullable(),
});
export type VoiceWaterfall = z.infer<typeof VoiceWaterfall>;

export const VoiceStateEvent = z.object({ type: z.literal('voice-state'), state: VoiceState });
export const VoiceStatusEvent = z.object({ type: z.literal('voice-status'), status: VoiceStatus });
export const TranscriptEvent = z.object({
  type: z.literal('transcript'),
  utteranceId: z.string(),
  final: z.boolean(),
  text: z.string(),
});
/**
 * One piece of the answer to speak, cleaned for speech, in order (`seq`): a sentence, or the first clause of a long first
 * sentence and then its rest. Spoken by the renderer for system voices.
 */
export const SpeechSentenceEvent = z.object({
  type: z.literal('speech-sentence'),
  turnId: TurnId,
  seq: z.number().int().nonnegative(),
  text: z.string(),
});
/** Synthesized audio of sentence `seq`: 16-bit mono PCM, base64. */
export const SpeechAudioEvent = z.object({
  type: z.literal('speech-audio'),
  turnId: TurnId,
  seq: z.number().int().nonnegative(),
  sampleRate: z.number().int().positive(),
  pcmBase64: z.string(),
});
/** Playback must stop now: the user barged in or cancelled. */
export const SpeechStopEvent = z.object({ type: z.literal('speech-stop'), turnId: TurnId.nullable(), reason: z.enum(['barge-in', 'cancel']) });
export const VoiceTimingsEvent = z.object({
  type: z.literal('voice-timings'),
  turnId: TurnId,
  utteranceId: z.string(),
  waterfall: VoiceWaterfall,
});

export const voiceCommandSchemas = {
  /** Changes settings; `conversationId` picks the conversation voice turns go to (null: a new one). */
  'voice:configure': {
    args: VoiceSettings.partial().extend({ conversationId: z.string().min(1).max(100).nullable().optional() }),
    result: VoiceSettings,
  },
  /** Push-to-talk key down (`pressed: true`) / up. Key down while the assistant speaks is a barge-in. */
  'voice:ptt': { args: z.object({ pressed: z.boolean() }), result: z.object({ state: VoiceState }) },
  'voice:status': { args: z.object({}).optional(), result: VoiceStatus },
  /** Stop speaking and cancel the current voice turn (the stop button, or barge-in from the renderer). */
  'voice:interrupt': { args: z.object({}).optional(), result: z.object({ interrupted: z.boolean() }) },
} as const;
