import type { Worker } from 'node:worker_threads';

/** A worker's answer to one request: its result, or why it failed. */
export type WorkerReply<Result> = { id: number; result: Result } | { id: number; error: unknown };

export interface WorkerClientOptions<Result> {
  /** Starts the worker: on the first request, and on the next one after the worker died or was closed. */
  start(): Promise<Worker>;
  /** Reads a message from the worker: the request it answers and how. Undefined for a message it cannot read. */
  readReply(message: unknown): WorkerReply<Result> | undefined;
  /** The message that tells the worker to drop a request (it ignores one it no longer holds). */
  cancelMessage(id: number): unknown;
  /** What the outstanding requests reject with when the worker dies. */
  crashError(detail: string): unknown;
  /** What a request rejects with when its signal aborts. */
  abortError(signal: AbortSignal): unknown;
  /**
   * For a worker that must not be stopped in the middle of a call (onnxruntime-node aborts the whole process when its
   * worker is terminated, or the process exits, inside a model run). Then close() sends `message`, which asks the
   * worker to finish its running call and exit, and terminates it only after `timeoutMs`. Without it, close()
   * terminates the worker at once.
   */
  gracefulStop?: { message: unknown; timeoutMs: number };
  /**
   * Reads a message saying the worker has gone idle: how many requests it had received by then. With it, the worker
   * keeps the process alive until it has finished every request sent to it, cancelled ones included, not just until
   * the last outstanding request settles.
   */
  readIdle?(message: unknown): number | undefined;
}

/**
 * Requests, each with an id, to one long-lived worker thread that is started on the first request. An aborted request
 * rejects at once and the worker is told to drop it; a late reply to it is ignored. The worker keeps the process
 * alive only while a request is outstanding. If it dies, the outstanding requests reject and the next request starts
 * a fresh one. Used by the built-in voice and the embedders.
 */
export class WorkerClient<Result> {
  #worker: Promise<Worker> | undefined;
  #nextRequestId = 1;
  /** Requests sent to the running worker, and how many of them it had received when it last said it was idle. */
  #sent = 0;
  #receivedWhenIdle = 0;
  readonly #outstanding = new Map<number, Outstanding<Result>>();

  constructor(private readonly options: WorkerClientOptions<Result>) {}

  /** Sends `message(id)` and resolves with the worker's reply to that id. */
  request(message: (id: number) => unknown, signal?: AbortSignal): Promise<Result> {
    const id = this.#nextRequestId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#settle(id)?.reject(this.options.abortError(signal!));
        void this.#worker?.then((worker) => worker.postMessage(this.options.cancelMessage(id)), () => undefined);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#outstanding.set(id, { resolve, reject, stopListening: () => signal?.removeEventListener('abort', onAbort) });
      this.#runningWorker().then(
        (worker) => {
          if (!this.#outstanding.has(id)) return;
          worker.ref();
          this.#sent += 1;
          worker.postMessage(message(id));
        },
        (error: unknown) => this.#settle(id)?.reject(error),
      );
    });
  }

  /** Stops the worker; outstanding requests reject with `reason`. A later request starts a new worker. */
  async close(reason: unknown): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    for (const id of [...this.#outstanding.keys()]) this.#settle(id)?.reject(reason);
    await worker?.then((started) => this.#stop(started), () => undefined);
  }

  async #stop(worker: Worker): Promise<void> {
    const graceful = this.options.gracefulStop;
    if (graceful === undefined) {
      await worker.terminate();
      return;
    }
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.ref(); // the process waits for the running call to end rather than exiting in the middle of it
    worker.postMessage(graceful.message);
    const deadline = setTimeout(() => void worker.terminate(), graceful.timeoutMs);
    await exited;
    clearTimeout(deadline);
  }

  #runningWorker(): Promise<Worker> {
    if (this.#worker === undefined) {
      this.#sent = 0;
      this.#receivedWhenIdle = 0;
      const starting = this.options.start().then((worker) => {
        worker.unref(); // referenced only while a request is outstanding
        return worker;
      });
      this.#worker = starting;
      starting.then(
        (worker) => this.#watch(worker, starting),
        () => {
          if (this.#worker === starting) this.#worker = undefined;
        },
      );
    }
    return this.#worker;
  }

  #watch(worker: Worker, started: Promise<Worker>): void {
    worker.on('message', (message: unknown) => {
      const received = this.options.readIdle?.(message);
      if (received !== undefined) {
        if (this.#worker === started) this.#receivedWhenIdle = received;
        this.#unrefWhenIdle();
        return;
      }
      const reply = this.options.readReply(message);
      if (reply === undefined) return; // whose it is cannot be told; that request fails when the worker ends
      const outstanding = this.#settle(reply.id);
      if ('error' in reply) outstanding?.reject(reply.error);
      else outstanding?.resolve(reply.result);
    });
    // An uncaught error ends the worker and 'exit' follows; the next request starts a fresh one.
    let failure = '';
    worker.on('error', (error) => (failure = error.message));
    worker.on('exit', (exitCode) => {
      if (this.#worker !== started) return; // closed: its requests were already rejected
      this.#worker = undefined;
      const crash = this.options.crashError(failure || `worker exit code ${exitCode}`);
      for (const id of [...this.#outstanding.keys()]) this.#settle(id)?.reject(crash);
    });
  }

  /** Forgets an outstanding request and returns it, or undefined if it was already settled. */
  #settle(id: number): Outstanding<Result> | undefined {
    const outstanding = this.#outstanding.get(id);
    this.#outstanding.delete(id);
    outstanding?.stopListening();
    this.#unrefWhenIdle();
    return outstanding;
  }

  /**
   * Idle, the worker must not keep the process alive. Without `readIdle`, idle means nothing outstanding (a cancelled
   * request may still be running in it); with it, also that the worker has said it finished everything sent.
   */
  #unrefWhenIdle(): void {
    const finishedAll = this.options.readIdle === undefined || this.#receivedWhenIdle === this.#sent;
    if (this.#outstanding.size === 0 && finishedAll) this.#worker?.then((worker) => worker.unref(), () => undefined);
  }
}

interface Outstanding<Result> {
  resolve(result: Result): void;
  reject(error: unknown): void;
  stopListening(): void;
}
