import { z } from 'zod';
import { AgentErrorShape } from './agentErrors.js';
import { AgentStatus, ConversationId, TurnId, TurnTimings } from './agentEntities.js';
import {
  SpeechAudioEvent,
  SpeechSentenceEvent,
  SpeechStopEvent,
  TranscriptEvent,
  VoiceStateEvent,
  VoiceStatusEvent,
  VoiceTimingsEvent,
} from './voiceContract.js';
import { AnswerSentenceEvent, StageEvent } from './turnStages.js';
import { ModelProgressEvent } from './modelsContract.js';
import { Citation, DocsProgressEvent } from './documentsContract.js';
import { AnswerWithheldEvent, BlockedEvent, GuardVerdictEvent } from './guardsContract.js';
import { CouncilEvent, TurnRoute } from './councilContract.js';

/** The streamed event union. Every event the agent emits matches exactly one of these. */
export const TurnStartedEvent = z.object({
  type: z.literal('turn-started'),
  turnId: TurnId,
  conversationId: ConversationId,
  question: z.string(),
});
export const TokenEvent = z.object({
  type: z.literal('token'),
  turnId: TurnId,
  conversationId: ConversationId,
  text: z.string(),
});
export const DoneEvent = z.object({
  type: z.literal('done'),
  turnId: TurnId,
  conversationId: ConversationId,
  text: z.string(),
  cached: z.boolean(),
  interrupted: z.boolean(),
  provider: z.string(),
  model: z.string(),
  timings: TurnTimings,
  /** The passages from the user's documents that the answer was given with (empty without documents). */
  citations: z.array(Citation),
  /** Which model tier answered, and why (the `auto` router's choice, or the tier the session was started with). */
  route: TurnRoute.optional(),
  /** The answer is a council's: its members, and whose text the answer is. */
  council: z.object({ members: z.array(z.string()), source: z.enum(['chairman', 'top-answer', 'sole-member', 'none']) }).optional(),
});
export const ErrorEvent = AgentErrorShape.extend({
  type: z.literal('error'),
  turnId: TurnId.optional(),
  conversationId: ConversationId.optional(),
});
export const StatusEvent = z.object({ type: z.literal('status'), status: AgentStatus });
/** Something the user should see but that is not an error, e.g. a provider fallback. */
export const NoticeEvent = z.object({
  type: z.literal('notice'),
  level: z.enum(['info', 'warning']),
  message: z.string(),
});
export const ConversationsChangedEvent = z.object({ type: z.literal('conversations-changed') });

export const AgentEvent = z.discriminatedUnion('type', [
  TurnStartedEvent,
  TokenEvent,
  AnswerSentenceEvent,
  StageEvent,
  DoneEvent,
  BlockedEvent,
  GuardVerdictEvent,
  AnswerWithheldEvent,
  ErrorEvent,
  StatusEvent,
  NoticeEvent,
  ConversationsChangedEvent,
  ModelProgressEvent,
  DocsProgressEvent,
  VoiceStateEvent,
  VoiceStatusEvent,
  TranscriptEvent,
  SpeechSentenceEvent,
  SpeechAudioEvent,
  SpeechStopEvent,
  VoiceTimingsEvent,
  CouncilEvent,
]);
export type AgentEvent = z.infer<typeof AgentEvent>;
export type TokenEvent = z.infer<typeof TokenEvent>;
export type DoneEvent = z.infer<typeof DoneEvent>;
export type ErrorEvent = z.infer<typeof ErrorEvent>;
export type AgentEventType = AgentEvent['type'];
