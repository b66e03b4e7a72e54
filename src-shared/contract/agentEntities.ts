import { z } from 'zod';

export const ConversationId = z.string().min(1).max(100);
export const TurnId = z.string().min(1).max(100);

export const Conversation = z.object({
  id: ConversationId,
  title: z.string(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type Conversation = z.infer<typeof Conversation>;

/** `complete` answers ended normally; `interrupted` were cancelled or barged in; `crashed` were cut off by a dead process. */
export const MessageStatus = z.enum(['complete', 'interrupted', 'crashed', 'streaming']);
export type MessageStatus = z.infer<typeof MessageStatus>;

export const ChatMessage = z.object({
  id: z.number().int(),
  conversationId: ConversationId,
  /** The question and its answer share a turn id. */
  turnId: TurnId,
  role: z.enum(['user', 'assistant']),
  text: z.string(),
  status: MessageStatus,
  createdAt: z.number(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/** Per-turn timings in milliseconds. Voice stages are filled in by voice turns only. */
export const TurnTimings = z.object({
  ttftMs: z.number().nonnegative().nullable(),
  totalMs: z.number().nonnegative(),
  tokens: z.number().int().nonnegative(),
  tokensPerSecond: z.number().nonnegative().nullable(),
  promptTokens: z.number().int().nonnegative().optional(),
  sttMs: z.number().nonnegative().optional(),
  firstAudioMs: z.number().nonnegative().optional(),
  firstSentenceMs: z.number().nonnegative().optional(),
  ttsFirstChunkMs: z.number().nonnegative().optional(),
});
export type TurnTimings = z.infer<typeof TurnTimings>;

export const LlmProviderKind = z.enum(['embedded', 'ollama', 'openai']);
export type LlmProviderKind = z.infer<typeof LlmProviderKind>;

export const ModelState = z.enum(['loading', 'warm', 'missing', 'error']);
export type ModelState = z.infer<typeof ModelState>;

export const AgentStatus = z.object({
  llm: z.object({
    state: ModelState,
    provider: LlmProviderKind.nullable(),
    model: z.string().nullable(),
    message: z.string().optional(),
    loadMs: z.number().optional(),
    /**
     * With state `missing`: the manifest id of the chat model that is not downloaded yet (first run), so the UI can
     * offer to download it (`models:pull {id}`) instead of showing an error. Absent when the missing model is a file
     * the user named (a flag, an env var, a chosen path).
     */
    missingModelId: z.string().optional(),
  }),
});
export type AgentStatus = z.infer<typeof AgentStatus>;
