import { Ollama, type AbortableAsyncIterator, type ProgressResponse } from 'ollama';
import { z } from 'zod';
import { AgentError } from '../../src-shared/contract/index.js';

export interface OllamaPullProgress {
  /** Bytes of every layer so far. */
  receivedBytes: number;
  /** Bytes of every layer Ollama has announced; null before the first layer. */
  totalBytes: number | null;
  /** Ollama's own words: "pulling manifest", "pulling <digest>", "verifying sha256 digest", "success". */
  status: string;
}

export interface OllamaPullRequest {
  host: string;
  model: string;
  signal?: AbortSignal;
  onProgress?: (progress: OllamaPullProgress) => void;
}

/** Why an Ollama pull failed: Ollama could not be reached, Ollama refused (unknown model, disk full), or it was cancelled. */
export class OllamaPullFailure extends AgentError {
  constructor(
    code: 'PROVIDER_UNAVAILABLE' | 'DOWNLOAD_FAILED' | 'CANCELLED',
    message: string,
    readonly kind: 'unreachable' | 'refused' | 'cancelled',
  ) {
    super(code, message);
    this.name = 'OllamaPullFailure';
  }
}

// Each streamed line crosses a network boundary: only the fields relied on are checked.
const PullLine = z.object({
  status: z.string(),
  digest: z.string().optional(),
  total: z.number().nonnegative().optional(),
  completed: z.number().nonnegative().optional(),
});

/**
 * Pulls a model through Ollama's /api/pull, streaming its progress. Ollama downloads each layer (digest) separately;
 * the progress reported is the sum over the layers seen so far. Ollama resumes an interrupted pull itself.
 */
export async function pullOllamaModel(request: OllamaPullRequest): Promise<void> {
  const client = new Ollama({ host: request.host });
  const layers = new Map<string, { total: number; completed: number }>();
  let stream: AbortableAsyncIterator<ProgressResponse> | undefined;
  const abort = () => stream?.abort();
  request.signal?.addEventListener('abort', abort, { once: true });
  try {
    if (request.signal?.aborted) throw new DOMException('cancelled', 'AbortError');
    try {
      stream = await client.pull({ model: request.model, stream: true });
    } catch (error) {
      throw (error as { status_code?: unknown }).status_code === undefined
        ? new OllamaPullFailure('PROVIDER_UNAVAILABLE', `Ollama is not reachable at ${request.host}.`, 'unreachable')
        : refused(request.model, error);
    }
    if (request.signal?.aborted) abort();
    for await (const raw of stream) {
      const line = PullLine.safeParse(raw);
      if (!line.success) continue;
      const { status, digest, total, completed } = line.data;
      if (digest !== undefined && total !== undefined) layers.set(digest, { total, completed: completed ?? 0 });
      const sums = [...layers.values()].reduce((sum, layer) => ({ total: sum.total + layer.total, completed: sum.completed + layer.completed }), {
        total: 0,
        completed: 0,
      });
      request.onProgress?.({ receivedBytes: sums.completed, totalBytes: layers.size > 0 ? sums.total : null, status });
    }
  } catch (error) {
    if (request.signal?.aborted) throw new OllamaPullFailure('CANCELLED', `The Ollama pull of ${request.model} was cancelled.`, 'cancelled');
    if (error instanceof OllamaPullFailure) throw error;
    throw refused(request.model, error);
  } finally {
    request.signal?.removeEventListener('abort', abort);
  }
}

function refused(model: string, error: unknown): OllamaPullFailure {
  const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]?.trim() || 'no reason given';
  return new OllamaPullFailure('DOWNLOAD_FAILED', `Ollama could not pull ${model}: ${reason}.`, 'refused');
}
