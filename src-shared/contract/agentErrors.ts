import { z } from 'zod';

/** Error codes a user can be shown. Errors cross boundaries as plain objects, never class instances or stacks. */
export const ErrorCode = z.enum([
  'EMPTY_QUESTION',
  'QUESTION_TOO_LONG',
  'INVALID_MESSAGE',
  'UNKNOWN_COMMAND',
  'NOT_FOUND',
  'MODEL_MISSING',
  'MODEL_CORRUPT',
  'MODEL_NOT_READY',
  'PROVIDER_UNAVAILABLE',
  'GENERATION_FAILED',
  'CANCELLED',
  'DOWNLOAD_FAILED',
  'CHECKSUM_MISMATCH',
  'BAD_AUDIO',
  'STT_UNAVAILABLE',
  'TTS_FAILED',
  'INTERNAL',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const AgentErrorShape = z.object({
  code: ErrorCode,
  message: z.string(),
  detail: z.string().optional(),
});
export type AgentErrorShape = z.infer<typeof AgentErrorShape>;

/** Thrown inside Node/DOM code; converted with `toErrorShape` before it crosses a boundary. */
export class AgentError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'AgentError';
  }
}

export function toErrorShape(error: unknown): AgentErrorShape {
  if (error instanceof AgentError) {
    return error.detail === undefined
      ? { code: error.code, message: error.message }
      : { code: error.code, message: error.message, detail: error.detail };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL', message };
}
