import { z } from 'zod';

/** Error codes a user can be shown. Errors cross boundaries as plain objects, never class instances or stacks. */
export const ErrorCode = z.enum([
  'EMPTY_QUESTION',
  'QUESTION_TOO_LONG',
  'INVALID_MESSAGE',
  /** An environment variable or command-line flag has a value that is not allowed (the message names it). */
  'INVALID_SETTING',
  'UNKNOWN_COMMAND',
  'NOT_FOUND',
  'MODEL_MISSING',
  'MODEL_CORRUPT',
  'MODEL_NOT_READY',
  'PROVIDER_UNAVAILABLE',
  'GENERATION_FAILED',
  'CANCELLED',
  'DOWNLOAD_FAILED',
  /** A second pull of a model that is already downloading. */
  'ALREADY_DOWNLOADING',
  /** Deleting the model that is answering (or listening) now. */
  'MODEL_IN_USE',
  'CHECKSUM_MISMATCH',
  'BAD_AUDIO',
  /** A voice input (e.g. a WAV file) held no speech: silence, noise, a click. */
  'NO_SPEECH',
  'STT_UNAVAILABLE',
  'TTS_FAILED',
  /** The data folder cannot be created or written (a file in the way, /proc, /sys, read-only, no permission). */
  'DATA_DIR_UNUSABLE',
  /** The SQLite file is not a database or is damaged; it is left untouched until the user moves it aside. */
  'DATABASE_CORRUPT',
  /**
   * The database is encrypted and its key is missing, wrong or not private (a key file other users can read). The file
   * is left untouched and is never offered to be moved aside: only the right key can tell a wrong key from damage.
   */
  'DATABASE_KEY_INVALID',
  /** An input check refused the question; nothing was answered. */
  'INPUT_REJECTED',
  /** A prepare step (model, history, retrieval, a check) did not finish in its time. */
  'STEP_TIMEOUT',
  /** A document could not be ingested (empty, binary, too large, no text layer, a parser error); the message says why. */
  'DOCUMENT_REJECTED',
  /** The vector store (Chroma) is not reachable; keyword search still answers. */
  'VECTOR_STORE_UNAVAILABLE',
  /** The embedding model could not be loaded or failed. */
  'EMBEDDER_FAILED',
  /**
   * Too many calls from one connection or window, or too many of its questions still unanswered; nothing was done.
   * `retryAfterMs` says when to try again.
   */
  'RATE_LIMITED',
  'INTERNAL',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const AgentErrorShape = z.object({
  code: ErrorCode,
  message: z.string(),
  detail: z.string().optional(),
  /** RATE_LIMITED: how long to wait before asking again, in ms. */
  retryAfterMs: z.number().int().nonnegative().optional(),
});
export type AgentErrorShape = z.infer<typeof AgentErrorShape>;

/** Thrown inside Node/DOM code; converted with `toErrorShape` before it crosses a boundary. */
export class AgentError extends Error {
  /** RATE_LIMITED: how long to wait before asking again, in ms. */
  readonly retryAfterMs?: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail?: string,
    options: { retryAfterMs?: number | undefined } = {},
  ) {
    super(message);
    this.name = 'AgentError';
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

export function toErrorShape(error: unknown): AgentErrorShape {
  if (error instanceof AgentError) {
    return {
      code: error.code,
      message: error.message,
      ...(error.detail !== undefined && { detail: error.detail }),
      ...(error.retryAfterMs !== undefined && { retryAfterMs: error.retryAfterMs }),
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL', message };
}

/** The error a client throws for a failure that crossed the boundary: `toErrorShape` undone, nothing lost. */
export function fromErrorShape(shape: AgentErrorShape): AgentError {
  return new AgentError(shape.code, shape.message, shape.detail, { retryAfterMs: shape.retryAfterMs });
}
