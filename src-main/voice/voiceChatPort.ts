import type { AgentEvent, VoiceWaterfall } from '../../src-shared/contract/index.js';

/** The stages of a chat turn's timeline that a voice turn reports to and reads from (the agent's TurnTimeline). */
export interface VoiceTurnTimeline {
  start(name: string, at?: number): void;
  end(name: string, at?: number): void;
  hasEnded(name: string): boolean;
  voiceWaterfall(): VoiceWaterfall;
}

export interface VoiceTurnRequest {
  text: string;
  conversationId: string | undefined;
  /** performance.now() when the end of speech was detected: the turn's stage times count from here. */
  origin: number;
  /** Speech-to-text, which happened before the chat turn, as performance.now() times. */
  earlierStages: ReadonlyArray<{ name: string; start: number; end: number }>;
  /** The turn prepared speculatively during the user's pause: adopted if the words match, dropped otherwise. */
  speculation?: SpeculativeTurnHandle | undefined;
  /** Ask a council of models; its members' answers are shown, only the final answer is spoken. */
  council?: Record<string, never> | undefined;
}

/** A turn being prepared on a partial transcript (the agent's SpeculativeTurn). */
export interface SpeculativeTurnHandle {
  readonly question: string;
  /** Drops it: nothing of it is ever shown, spoken or stored. */
  cancel(): void;
}

/** What the voice session needs from the text-chat side of the agent. */
export interface VoiceChatPort {
  startTurn(request: VoiceTurnRequest): Promise<{ turnId: string; conversationId: string; timeline: VoiceTurnTimeline; adoptedSpeculation?: boolean }>;
  cancelTurn(turnId: string): void;
  /** Starts preparing a turn on what the user has said so far, before the turn is final. */
  speculate?(request: { text: string; conversationId: string | undefined }): SpeculativeTurnHandle;
  listen(listener: (event: AgentEvent) => void): () => void;
}
