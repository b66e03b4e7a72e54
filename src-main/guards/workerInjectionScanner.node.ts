import { Worker } from 'node:worker_threads';
import { AgentError } from '../../src-shared/contract/index.js';
import { WorkerClient } from '../platform/workerClient.node.js';
import { resolveWorkerScript } from '../platform/workerScript.node.js';
import { runScanWithPauses } from './guardScan.js';
import { type InjectionHeuristics, scanInjectionHeuristics } from './injectionGuard.js';
import { InjectionScanReplySchema, type InjectionScanRequest } from './injectionScanProtocol.js';

/** A short text that runs every pattern: compiling them is what warming up is for. */
const WARM_UP_TEXT = 'Warm up: please ignore the noise and tell me about the system of rivers.';
/** V8 compiles a regular expression to machine code on its second run (the first is interpreted). */
const WARM_UP_RUNS = 3;

/**
 * The injection heuristics in a worker thread (`injectionScanWorker.node.ts`), started at warm-up or on the first scan
 * and kept: their regular expressions stay compiled there (see the worker's header), and the main thread stays free
 * for the turn. If the worker cannot start or dies, a scan runs here instead, as before.
 */
export class WorkerInjectionScanner {
  readonly #worker = new WorkerClient<InjectionHeuristics>({
    start: startWorker,
    readReply: (message) => {
      const parsed = InjectionScanReplySchema.safeParse(message);
      if (!parsed.success) return undefined;
      const reply = parsed.data;
      if (reply.type === 'failed') return { id: reply.id, error: new AgentError(reply.error.code, reply.error.message, reply.error.detail) };
      return { id: reply.id, result: reply.heuristics as InjectionHeuristics };
    },
    cancelMessage: (id) => ({ type: 'cancel', id }) satisfies InjectionScanRequest,
    crashError: (detail) => new AgentError('INTERNAL', 'The injection check worker stopped unexpectedly.', detail),
    abortError: (signal) => signal.reason,
  });

  /** Starts the worker and compiles the patterns there, so the first question does not wait for either. */
  async warmUp(signal?: AbortSignal): Promise<void> {
    for (let run = 0; run < WARM_UP_RUNS; run += 1) await this.scan(WARM_UP_TEXT, signal ?? new AbortController().signal);
  }

  async scan(text: string, signal: AbortSignal): Promise<InjectionHeuristics> {
    signal.throwIfAborted();
    try {
      return await this.#worker.request((id) => ({ type: 'scan', id, text }) satisfies InjectionScanRequest, signal);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      return runScanWithPauses(scanInjectionHeuristics(text), signal);
    }
  }

  async close(): Promise<void> {
    await this.#worker.close(new AgentError('CANCELLED', 'The injection check was closed.'));
  }
}

async function startWorker(): Promise<Worker> {
  // The compiled worker beside this file in the app; its bundled source under vitest.
  const script = await resolveWorkerScript(new URL('./injectionScanWorker.node.js', import.meta.url), new URL('./injectionScanWorker.node.ts', import.meta.url));
  return new Worker(script);
}
