import { z } from 'zod';
import { AgentCommand } from './channels.js';
import { Conversation, ConversationId, ChatMessage, TurnId, AgentStatus } from './agentEntities.js';
import { voiceCommandSchemas } from './voiceContract.js';
import { dataCommandSchemas } from './dataContract.js';
import { modelsCommandSchemas } from './modelsContract.js';
import { documentsCommandSchemas } from './documentsContract.js';
import { StageSpan, TurnStats } from './turnStages.js';
import { CouncilRequest } from './councilContract.js';

/** Default cap on a question's length; the agent config can change it. */
export const DEFAULT_MAX_QUESTION_CHARS = 8000;

/**
 * Argument and result schemas per command. Arguments are validated where they arrive (host, IPC, CLI);
 * results are validated by the client. Question length is checked by the agent so the limit is configurable,
 * but a hard ceiling stops a giant payload early.
 */
export const commandSchemas = {
  [AgentCommand.chatSend]: {
    args: z.object({
      conversationId: ConversationId.optional(),
      text: z.string().max(1_000_000),
      /** Ask a council of local models instead of the one chat model. */
      council: CouncilRequest.optional(),
    }),
    result: z.object({ turnId: TurnId, conversationId: ConversationId }),
  },
  [AgentCommand.chatCancel]: {
    args: z.object({ turnId: TurnId }),
    result: z.object({ cancelled: z.boolean() }),
  },
  [AgentCommand.conversationsList]: {
    args: z.object({}).optional(),
    result: z.array(Conversation),
  },
  [AgentCommand.conversationsCreate]: {
    args: z.object({ title: z.string().max(200).optional() }).optional(),
    result: Conversation,
  },
  [AgentCommand.conversationsRename]: {
    args: z.object({ id: ConversationId, title: z.string().trim().min(1).max(200) }),
    result: Conversation,
  },
  [AgentCommand.conversationsDelete]: {
    args: z.object({ id: ConversationId }),
    result: z.object({ deleted: z.boolean() }),
  },
  [AgentCommand.conversationsMessages]: {
    args: z.object({ id: ConversationId }),
    result: z.array(ChatMessage),
  },
  [AgentCommand.agentStatus]: {
    args: z.object({}).optional(),
    result: AgentStatus,
  },
  /** Per-stage percentiles of the stored turns, and the most recent turn's stages (the performance panel). */
  [AgentCommand.statsGet]: {
    args: z.object({}).optional(),
    result: TurnStats.extend({ lastTurn: z.array(StageSpan.extend({ turnId: TurnId })) }),
  },
  ...voiceCommandSchemas,
  ...dataCommandSchemas,
  ...modelsCommandSchemas,
  ...documentsCommandSchemas,
} as const;

export type CommandSchemas = typeof commandSchemas;
export type CommandName = keyof CommandSchemas;
export type CommandArgs<C extends CommandName> = z.input<CommandSchemas[C]['args']>;
export type CommandResult<C extends CommandName> = z.infer<CommandSchemas[C]['result']>;

export function isCommandName(name: string): name is CommandName {
  return Object.prototype.hasOwnProperty.call(commandSchemas, name);
}
