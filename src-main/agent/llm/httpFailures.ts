import { httpStatusOf } from '../resilience/resiliencePolicies.js';

/** Node's fetch reports refused, reset and cut connections as TypeError 'fetch failed' or 'terminated'. */
export function isConnectionFailure(error: unknown): boolean {
  return error instanceof TypeError && (error.message === 'fetch failed' || error.message === 'terminated');
}

/**
 * Failures that count against a model server's circuit breaker: it is not there (refused, reset), overloaded or
 * broken (408, 429, 5xx). Not a request it refused (400, 401, a missing model: 404), nor a cancel.
 */
export function isServerOutageStatus(error: unknown): boolean {
  const status = httpStatusOf(error);
  if (status !== undefined) return status >= 500 || status === 429 || status === 408;
  return isConnectionFailure(error);
}

/** An error and up to three of its causes, in one line: "fetch failed: connect ECONNREFUSED … (ECONNREFUSED)". */
export function failureReason(error: unknown): string {
  const messages: string[] = [];
  for (let e: unknown = error; e instanceof Error && messages.length < 4; e = e.cause) {
    const code = (e as Error & { code?: unknown }).code;
    // An HTTP status error a provider makes and the client's error under it say the same thing.
    if (e.cause instanceof Error && e.cause.message === e.message) continue;
    messages.push(typeof code === 'string' ? `${e.message} (${code})` : e.message);
  }
  return messages.length > 0 ? messages.join(': ') : String(error);
}
