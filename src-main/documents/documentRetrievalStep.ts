import type { ContextStep, RetrievedContext, TurnInput } from '../agent/turn/prepareStep.js';
import type { RankedChunk } from './hybridSearch.node.js';

/** Characters of a chunk shown under the answer before "…". */
const SNIPPET_CHARS = 160;

/**
 * Retrieval as a prepare step of every turn: it runs beside history and the model's readiness, and its chunk ids go
 * into the prompt plan (and so into the response-cache key). Optional: if it fails or takes too long, the turn is
 * answered without documents and the user sees a notice.
 */
export function documentRetrievalStep(
  search: (question: string, signal: AbortSignal) => Promise<RankedChunk[]>,
  timeoutMs: number,
  /** Passages that may go into the prompt (the guardrails drop those with instructions aimed at the assistant). */
  filter?: (input: TurnInput, passages: RetrievedContext[], signal: AbortSignal) => Promise<RetrievedContext[]>,
): ContextStep {
  return {
    kind: 'context',
    name: 'retrieval',
    timeoutMs,
    required: false,
    run: async (input, signal) => {
      const passages = (await search(input.question, signal)).map(toRetrievedContext);
      return filter && passages.length > 0 ? filter(input, passages, signal) : passages;
    },
  };
}

export function toRetrievedContext(chunk: RankedChunk): RetrievedContext {
  const heading = chunk.headingPath.length > 0 ? `${chunk.headingPath.join(' › ')}\n` : '';
  return {
    id: chunk.id,
    text: heading + chunk.text,
    source: chunk.source,
    citation: {
      source: chunk.source,
      chunk: chunk.ordinal,
      chunkId: chunk.id,
      score: roundedScore(chunk.similarity),
      snippet: snippetOf(chunk.text),
    },
  };
}

/** A similarity as it is shown: three decimals. */
export function roundedScore(similarity: number): number {
  return Math.round(similarity * 1000) / 1000;
}

export function snippetOf(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= SNIPPET_CHARS) return flat;
  const cut = flat.slice(0, SNIPPET_CHARS);
  const lastSpace = cut.lastIndexOf(' ');
  return `${(lastSpace > SNIPPET_CHARS / 2 ? cut.slice(0, lastSpace) : cut).trimEnd()}…`;
}
