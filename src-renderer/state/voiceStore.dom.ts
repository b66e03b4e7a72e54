import { createStore, type StoreApi } from 'zustand/vanilla';
import {
  DEFAULT_VOICE_SETTINGS,
  type AgentEvent,
  type VoiceSettings,
  type VoiceState,
  type VoiceStatus,
  type VoiceWaterfall,
} from '../../src-shared/contract/index.js';
import type { HostAgentClient } from '../transport/hostConnection.js';
import type { MicCapture, MicCaptureHandlers } from '../voice/micCapture.dom.js';
import type { SpeechPlayer } from '../voice/speechPlayer.dom.js';
import type { ChatStore } from './chatStore.dom.js';
import { errorText } from './storeHelpers.js';

export type MicAvailability = { state: 'off' } | { state: 'starting' } | { state: 'ready' } | { state: 'unavailable'; reason: string };

export interface LiveTranscript {
  utteranceId: string;
  text: string;
  final: boolean;
}

export interface SystemVoice {
  /** `system:<voiceURI>`, as the agent's settings name it. */
  id: string;
  name: string;
  lang: string;
}

export interface VoiceUiState {
  mic: MicAvailability;
  /** RMS of the latest mic frame, 0..1. */
  micLevel: number;
  /** Engines and settings as the agent reports them; null until it has answered. */
  status: VoiceStatus | null;
  /** Why voice cannot be used at all (e.g. the agent runs with voice turned off). */
  unavailableReason: string | null;
  settings: VoiceSettings;
  voiceState: VoiceState;
  /** Push-to-talk is held in this window (key or mic button). */
  talkHeld: boolean;
  /** The assistant's voice is audible here. */
  playing: boolean;
  transcript: LiveTranscript | null;
  /** The latency waterfall of the latest voice turn. */
  waterfall: (VoiceWaterfall & { turnId: string }) | null;
  systemVoices: SystemVoice[];
  error: string | null;

  /** Subscribes to the agent, opens the microphone once voice is available; returns the cleanup. */
  start(): () => void;
  /** Push-to-talk down; while the assistant speaks it is also a barge-in. */
  pressTalk(): void;
  releaseTalk(): void;
  configure(changes: Partial<VoiceSettings>): Promise<void>;
  dismissError(): void;
}

export type VoiceStore = StoreApi<VoiceUiState>;

export interface VoiceStoreDependencies {
  client: HostAgentClient;
  chat: ChatStore;
  player: SpeechPlayer;
  startMic(handlers: MicCaptureHandlers): Promise<MicCapture>;
  /** The platform's speechSynthesis, when it exists. */
  speechSynthesis?: SpeechSynthesis;
}

const SYSTEM_VOICE_PREFIX = 'system:';

/** Whether mic frames go to the agent right now. */
export function shouldSendMicFrames(state: Pick<VoiceUiState, 'settings' | 'talkHeld' | 'voiceState' | 'status'>): boolean {
  if (state.status === null || state.settings.muted) return false;
  if (state.settings.mode === 'hands-free') return true;
  // Push-to-talk is held in this window, or by the agent itself (Electron's global hotkey presses it in the main process).
  return state.talkHeld || state.voiceState === 'listening';
}

export function createVoiceStore(dependencies: VoiceStoreDependencies): VoiceStore {
  const { client, chat, player, speechSynthesis } = dependencies;
  let capture: MicCapture | undefined;

  return createStore<VoiceUiState>()((set, get) => {
    async function openMic(): Promise<void> {
      if (get().mic.state !== 'off') return;
      set({ mic: { state: 'starting' } });
      try {
        capture = await dependencies.startMic({
          onFrame(pcm, rms) {
            set({ micLevel: rms });
            if (shouldSendMicFrames(get())) client.sendMicFrame?.(pcm);
          },
          onEnded(reason) {
            capture?.stop();
            capture = undefined;
            set({ mic: { state: 'unavailable', reason }, micLevel: 0 });
          },
        });
        set({ mic: { state: 'ready' } });
      } catch (error) {
        set({ mic: { state: 'unavailable', reason: errorText(error) } });
      }
    }

    /** The agent sends voice turns to the conversation shown here (a new one when none is). */
    async function followActiveConversation(): Promise<void> {
      if (get().status === null) return;
      try {
        await client.call('voice:configure', { conversationId: chat.getState().activeConversationId });
      } catch (error) {
        set({ error: errorText(error) });
      }
    }

    async function loadStatus(): Promise<void> {
      try {
        const status = await client.call('voice:status');
        set({ status, settings: status.settings, voiceState: status.state, unavailableReason: null });
      } catch (error) {
        set({ status: null, unavailableReason: errorText(error) });
        return;
      }
      await followActiveConversation();
      await openMic();
    }

    function refreshSystemVoices(): void {
      const voices = speechSynthesis?.getVoices() ?? [];
      set({ systemVoices: voices.map((voice) => ({ id: `${SYSTEM_VOICE_PREFIX}${voice.voiceURI}`, name: voice.name, lang: voice.lang })) });
    }

    function systemVoiceFor(voiceId: string): SpeechSynthesisVoice | undefined {
      const uri = voiceId.slice(SYSTEM_VOICE_PREFIX.length);
      return speechSynthesis?.getVoices().find((voice) => voice.voiceURI === uri);
    }

    function onEvent(event: AgentEvent): void {
      const usesSystemVoice = get().settings.voice.startsWith(SYSTEM_VOICE_PREFIX);
      switch (event.type) {
        case 'voice-state':
          set({ voiceState: event.state });
          return;
        case 'voice-status':
          set({ status: event.status, settings: event.status.settings, voiceState: event.status.state, unavailableReason: null });
          return;
        case 'transcript':
          set({ transcript: { utteranceId: event.utteranceId, text: event.text, final: event.final } });
          return;
        case 'speech-sentence':
          if (usesSystemVoice) player.speakSentence(event, systemVoiceFor(get().settings.voice), get().settings.rate);
          return;
        case 'speech-audio':
          if (!usesSystemVoice) player.enqueueAudio(event);
          return;
        case 'speech-stop':
          player.stop(event.turnId);
          return;
        case 'voice-timings':
          set({ waterfall: { turnId: event.turnId, ...event.waterfall } });
          return;
      }
    }

    return {
      mic: { state: 'off' },
      micLevel: 0,
      status: null,
      unavailableReason: null,
      settings: DEFAULT_VOICE_SETTINGS,
      voiceState: 'idle',
      talkHeld: false,
      playing: false,
      transcript: null,
      waterfall: null,
      systemVoices: [],
      error: null,

      start() {
        const unlistenEvents = client.listen(onEvent);
        const unlistenConnection = client.onConnectionChange((connection) => {
          if (connection === 'open') void loadStatus();
        });
        const unlistenPlayer = player.onPlayingChange((playing) => set({ playing }));
        const unlistenChat = chat.subscribe((state, previous) => {
          if (state.activeConversationId !== previous.activeConversationId) void followActiveConversation();
        });
        speechSynthesis?.addEventListener('voiceschanged', refreshSystemVoices);
        refreshSystemVoices();
        if (client.connectionState === 'open') void loadStatus();
        return () => {
          unlistenEvents();
          unlistenConnection();
          unlistenPlayer();
          unlistenChat();
          speechSynthesis?.removeEventListener('voiceschanged', refreshSystemVoices);
          capture?.stop();
          capture = undefined;
        };
      },

      pressTalk() {
        if (get().talkHeld || get().status === null) return;
        player.unlock();
        // Barge-in starts here, without waiting for the agent: silence now, then the agent cancels the turn.
        if (player.playing) player.stop(null);
        if (get().settings.mode === 'hands-free') {
          // Hands-free listens all the time; the key or button only interrupts the answer.
          const { voiceState } = get();
          if (voiceState === 'thinking' || voiceState === 'speaking' || voiceState === 'transcribing') {
            client.call('voice:interrupt', {}).catch((error: unknown) => set({ error: errorText(error) }));
          }
          return;
        }
        set({ talkHeld: true });
        client.call('voice:ptt', { pressed: true }).catch((error: unknown) => set({ error: errorText(error) }));
      },

      releaseTalk() {
        if (!get().talkHeld) return;
        set({ talkHeld: false });
        client.call('voice:ptt', { pressed: false }).catch((error: unknown) => set({ error: errorText(error) }));
      },

      async configure(changes) {
        if (get().talkHeld) get().releaseTalk();
        try {
          set({ settings: await client.call('voice:configure', changes) });
        } catch (error) {
          set({ error: errorText(error) });
        }
      },

      dismissError() {
        set({ error: null });
      },
    };
  });
}
