import { z } from 'zod';
import { AgentErrorShape } from './agentErrors.js';
import { AgentEvent } from './agentEvents.js';

/**
 * The frames of the WebSocket transport (headless host). Same shape as VS Code's channel:
 * `call(command, args)` with a cancel frame, and `event` pushes.
 */
export const ClientFrame = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('call'), id: z.number().int(), command: z.string(), args: z.unknown().optional() }),
  z.object({ kind: z.literal('cancel'), id: z.number().int() }),
]);
export type ClientFrame = z.infer<typeof ClientFrame>;

export const ServerFrame = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('result'), id: z.number().int(), value: z.unknown() }),
  z.object({ kind: z.literal('failure'), id: z.number().int(), error: AgentErrorShape }),
  z.object({ kind: z.literal('event'), event: AgentEvent }),
]);
export type ServerFrame = z.infer<typeof ServerFrame>;
