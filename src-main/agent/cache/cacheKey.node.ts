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
}

export function responseCacheKey(parts: CacheKeyParts): string {
  const material = JSON.stringify([
    parts.provider,
    parts.modelId,
    parts.promptVersion,
    normalizeQuestion(parts.question),
    [...(parts.contextIds ?? [])].sort(),
  ]);
  return createHash('sha256').update(material).digest('hex');
}
