/**
 * Pure signal code of the microphone path, shared by the capture worklet and its tests: a streaming downsampler from
 * the audio context's rate (48 kHz typically) to the agent's 16 kHz, the framing into Int16 mic frames, and the
 * worklet's message shapes.
 * No DOM or worklet globals here, so it runs (and is tested) anywhere.
 */
import { windowedSincWeight } from '../../src-shared/audio/windowedSinc.js';

/** The capture worklet's registered name, its options and what it posts (the PCM buffer is transferred, not copied). */
export const MIC_CAPTURE_PROCESSOR = 'mic-capture';
export interface MicCaptureProcessorOptions {
  outputRate: number;
  frameSamples: number;
}
export interface MicCaptureMessage {
  pcm: ArrayBuffer;
  rms: number;
}

/** Zero crossings of the sinc on each side of an output sample: a modest, cheap low-pass, enough for speech. */
const ZERO_CROSSINGS = 8;
/** Fractional positions the kernel is tabulated at; integer ratios (48k → 16k) only ever use phase 0. */
const PHASES = 64;
/** The cutoff sits a little below the output Nyquist so the transition band ends before content can fold back. */
const CUTOFF_OF_NYQUIST = 0.9;

/**
 * Band-limited resampling of a stream of blocks by windowed-sinc interpolation (Blackman window), with the kernel
 * precomputed per phase because it runs on the audio thread. Blocks may have any length; the output is the same
 * however the input is split.
 */
export class StreamingDownsampler {
  private readonly step: number;
  private readonly halfWidth: number;
  private readonly kernels: Float32Array[];
  private history: Float32Array;
  /** Absolute input index of history[0]; starts negative because the stream is zero-padded in front. */
  private historyStart: number;
  private historyLength: number;
  /** Absolute input position of the next output sample. */
  private nextCenter = 0;

  constructor(
    readonly inputRate: number,
    readonly outputRate: number,
  ) {
    if (!(inputRate > 0) || !(outputRate > 0)) throw new RangeError(`Sample rates must be positive, got ${inputRate} → ${outputRate}`);
    this.step = inputRate / outputRate;
    const cutoff = (Math.min(inputRate, outputRate) / inputRate) * CUTOFF_OF_NYQUIST;
    this.halfWidth = Math.ceil(ZERO_CROSSINGS / cutoff);
    this.kernels = Array.from({ length: PHASES }, (_, phase) => tabulateKernel(phase / PHASES, this.halfWidth, cutoff));
    this.history = new Float32Array(4096);
    this.historyStart = -this.halfWidth;
    this.historyLength = this.halfWidth;
  }

  push(block: Float32Array): Float32Array {
    if (this.inputRate === this.outputRate) return block.slice();
    this.append(block);
    // An output sample's last tap is at floor(center) + halfWidth, one further when its phase rounds up.
    const lastUsable = this.historyStart + this.historyLength - 1;
    const count = Math.max(0, Math.floor((lastUsable - this.halfWidth - 1 - this.nextCenter) / this.step) + 1);
    const output = new Float32Array(count);
    for (let index = 0; index < count; index++) {
      const center = this.nextCenter + index * this.step;
      const whole = Math.floor(center);
      let phase = Math.round((center - whole) * PHASES);
      let base = whole;
      if (phase === PHASES) {
        phase = 0;
        base += 1;
      }
      const kernel = this.kernels[phase]!;
      // Taps cover input indices base - halfWidth + 1 .. base + halfWidth.
      const first = base - this.halfWidth + 1 - this.historyStart;
      let sum = 0;
      for (let tap = 0; tap < kernel.length; tap++) sum += this.history[first + tap]! * kernel[tap]!;
      output[index] = sum;
    }
    this.nextCenter += count * this.step;
    this.dropConsumed();
    return output;
  }

  private append(block: Float32Array): void {
    const needed = this.historyLength + block.length;
    if (needed > this.history.length) {
      const grown = new Float32Array(Math.max(needed, this.history.length * 2));
      grown.set(this.history.subarray(0, this.historyLength));
      this.history = grown;
    }
    this.history.set(block, this.historyLength);
    this.historyLength = needed;
  }

  /** Keeps only what the next output sample's taps still need. */
  private dropConsumed(): void {
    const keepFrom = Math.floor(this.nextCenter) - this.halfWidth;
    const drop = keepFrom - this.historyStart;
    if (drop <= 0) return;
    this.history.copyWithin(0, drop, this.historyLength);
    this.historyLength -= drop;
    this.historyStart = keepFrom;
  }
}

/** Kernel weights for an output point `fraction` past an input sample, normalised to a DC gain of exactly 1. */
function tabulateKernel(fraction: number, halfWidth: number, cutoff: number): Float32Array {
  const kernel = new Float32Array(2 * halfWidth);
  let total = 0;
  for (let tap = 0; tap < kernel.length; tap++) {
    const distance = tap - halfWidth + 1 - fraction;
    const weight = windowedSincWeight(distance, cutoff, halfWidth);
    kernel[tap] = weight;
    total += weight;
  }
  for (let tap = 0; tap < kernel.length; tap++) kernel[tap]! /= total;
  return kernel;
}

export interface MicFrame {
  /** 16-bit mono PCM at the downsampler's output rate. */
  pcm: Int16Array;
  /** Root mean square of the frame, 0..1 (full scale), for the level meter. */
  rms: number;
}

/** Cuts a stream of float samples into fixed-size Int16 frames, each with its RMS level. */
export class MicFrameBuilder {
  private readonly pending: Float32Array;
  private filled = 0;

  constructor(readonly frameSamples: number) {
    if (!Number.isInteger(frameSamples) || frameSamples <= 0) throw new RangeError(`frameSamples must be a positive integer, got ${frameSamples}`);
    this.pending = new Float32Array(frameSamples);
  }

  append(samples: Float32Array): MicFrame[] {
    const frames: MicFrame[] = [];
    let offset = 0;
    while (offset < samples.length) {
      const taken = Math.min(this.frameSamples - this.filled, samples.length - offset);
      this.pending.set(samples.subarray(offset, offset + taken), this.filled);
      this.filled += taken;
      offset += taken;
      if (this.filled === this.frameSamples) {
        frames.push(toMicFrame(this.pending));
        this.filled = 0;
      }
    }
    return frames;
  }
}

function toMicFrame(samples: Float32Array): MicFrame {
  const pcm = new Int16Array(samples.length);
  let squares = 0;
  for (let index = 0; index < samples.length; index++) {
    const clamped = Math.max(-1, Math.min(1, samples[index]!));
    squares += clamped * clamped;
    pcm[index] = Math.round(clamped < 0 ? clamped * 0x8000 : clamped * 0x7fff);
  }
  return { pcm, rms: Math.sqrt(squares / samples.length) };
}
