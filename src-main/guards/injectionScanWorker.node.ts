// Worker-thread entry for WorkerInjectionScanner: the injection heuristics (a few hundred regular expressions) run
// here, in an isolate of their own. On the main thread V8 discards a regular expression's compiled code after two
// full garbage collections in which it did not run, and a long answer streamed between two questions is enough: the
// next question's scan then compiled them all again, 250–470 ms before its first token could be shown. Here they are
// kept in use: a short text is scanned four times a second while questions come (about 0.2 ms of work each time), so
// no two collections pass without them, and the scan no longer takes the main thread's time either. Under vitest this
// file is bundled by resolveWorkerScript (platform/workerScript.node.ts).
import { type MessagePort, parentPort } from 'node:worker_threads';
import { toErrorShape } from '../../src-shared/contract/index.js';
import { runScanToEnd, runScanWithPauses } from './guardScan.js';
import { scanInjectionHeuristics } from './injectionGuard.js';
import type { InjectionScanReply, InjectionScanRequest } from './injectionScanProtocol.js';

if (parentPort === null) throw new Error('injectionScanWorker.node.js must be started as a worker thread.');
const port: MessagePort = parentPort;
const running = new Map<number, AbortController>();

/** Runs every pattern (about 0.2 ms); the worker's thread is idle between questions, so this never delays one. */
const KEEP_WARM_TEXT = 'Keep warm: how do I ignore the noise when the system prompt of my bot says to act as a tutor?';
/** At 1 s the first scan after a quiet minute still took 38 ms now and then; at 250 ms, 1 ms. */
const KEEP_WARM_MS = 250;
/** After this long without a question the patterns are let go: a later first question compiles them again. */
const KEEP_WARM_FOR_MS = 15 * 60_000;
let lastScanAt = performance.now();
let keepingWarm: NodeJS.Timeout | undefined;

function keepWarm(): void {
  lastScanAt = performance.now();
  // Unreferenced: it keeps neither the worker nor the app alive.
  keepingWarm ??= setInterval(() => {
    if (performance.now() - lastScanAt > KEEP_WARM_FOR_MS) {
      clearInterval(keepingWarm);
      keepingWarm = undefined;
    } else if (running.size === 0) runScanToEnd(scanInjectionHeuristics(KEEP_WARM_TEXT));
  }, KEEP_WARM_MS).unref();
}

port.on('message', (request: InjectionScanRequest) => {
  if (request.type === 'cancel') {
    running.get(request.id)?.abort();
    return;
  }
  keepWarm();
  const canceller = new AbortController();
  running.set(request.id, canceller);
  runScanWithPauses(scanInjectionHeuristics(request.text), canceller.signal).then(
    (heuristics) => reply({ type: 'scanned', id: request.id, heuristics }),
    (error: unknown) => {
      if (!canceller.signal.aborted) reply({ type: 'failed', id: request.id, error: toErrorShape(error) });
      running.delete(request.id);
    },
  );
});

function reply(message: InjectionScanReply): void {
  running.delete(message.id);
  port.postMessage(message);
}
