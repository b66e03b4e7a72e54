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
}

/** What the voice session needs from the text-chat side of the agent. */
export interface VoiceChatPort {
  startTurn(request: VoiceTurnRequest): Promise<{ turnId: string; conversationId: string; timeline: VoiceTurnTimeline }>;
  cancelTurn(turnId: string): void;
  listen(listener: (event: AgentEvent) => void): () => void;
}
