import { createHash } from 'node:crypto';

/** Case, spacing, Unicode form and trailing punctuation do not change what was asked. */
export function normalizeQuestion(question: string): string {
  return question
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\s?!.。？！]+$/u, '');
}

export interface CacheKeyParts {
  provider: string;
  modelId: string;
  promptVersion: string;
  question: string;
  /** Ids of retrieved document chunks, once retrieval exists; order-insensitive. */
  contextIds?: readonly string[];
  /**
   * The conversation history exactly as it is sent to the model. A follow-up like "why?" means something else in
   * every conversation, so it only matches an answer given after the same history. No history: `[]`.
   */
  history: ReadonlyArray<{ role: string; text: string }>;
  /** The answer's token limit: an answer written under a smaller limit is not the answer to a larger one. */
  maxAnswerTokens?: number;
}

/** sha256 over the history the model sees, in order; the same for every conversation without history. */
export function historyFingerprint(history: ReadonlyArray<{ role: string; text: string }>): string {
  const hash = createHash('sha256');
  for (const message of history) hash.update(JSON.stringify([message.role, message.text]));
  return hash.digest('hex');
}

export function responseCacheKey(parts: CacheKeyParts): string {
  const material = JSON.stringify([
    parts.provider,
    parts.modelId,
    parts.promptVersion,
    normalizeQuestion(parts.question),
    [...(parts.contextIds ?? [])].sort(),
    historyFingerprint(parts.history),
    parts.maxAnswerTokens ?? null,
  ]);
  return createHash('sha256').update(material).digest('hex');
}
