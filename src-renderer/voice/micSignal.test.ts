import { describe, expect, it } from 'vitest';
import { concatSamples } from '../../src-shared/audio/sampleArrays.js';
import { MicFrameBuilder, StreamingDownsampler } from './micSignal.js';

function sine(frequency: number, sampleRate: number, seconds: number, amplitude = 0.5): Float32Array {
  const samples = new Float32Array(Math.round(sampleRate * seconds));
  for (let index = 0; index < samples.length; index++) samples[index] = amplitude * Math.sin((2 * Math.PI * frequency * index) / sampleRate);
  return samples;
}

/** Feeds the signal in AudioWorklet-sized blocks (128 samples), as the capture worklet does. */
function downsampleInBlocks(input: Float32Array, inputRate: number, outputRate: number, blockSize = 128): Float32Array {
  const downsampler = new StreamingDownsampler(inputRate, outputRate);
  const parts: Float32Array[] = [];
  for (let offset = 0; offset < input.length; offset += blockSize) parts.push(downsampler.push(input.subarray(offset, offset + blockSize)));
  return concatSamples(Float32Array, parts);
}

/** Amplitude of one frequency in the signal (projection on sine and cosine), away from the edges. */
function amplitudeAt(signal: Float32Array, frequency: number, sampleRate: number): number {
  const start = Math.floor(signal.length * 0.1);
  const end = Math.floor(signal.length * 0.9);
  let inPhase = 0;
  let quadrature = 0;
  for (let index = start; index < end; index++) {
    const angle = (2 * Math.PI * frequency * index) / sampleRate;
    inPhase += signal[index]! * Math.sin(angle);
    quadrature += signal[index]! * Math.cos(angle);
  }
  return (2 * Math.hypot(inPhase, quadrature)) / (end - start);
}

function rms(signal: Float32Array): number {
  const start = Math.floor(signal.length * 0.1);
  const end = Math.floor(signal.length * 0.9);
  let squares = 0;
  for (let index = start; index < end; index++) squares += signal[index]! ** 2;
  return Math.sqrt(squares / (end - start));
}

describe('StreamingDownsampler', () => {
  it('turns 48 kHz into 16 kHz and keeps a 1 kHz tone at its frequency and level', () => {
    const output = downsampleInBlocks(sine(1000, 48_000, 1), 48_000, 16_000);
    expect(Math.abs(output.length - 16_000)).toBeLessThanOrEqual(16);
    expect(amplitudeAt(output, 1000, 16_000)).toBeCloseTo(0.5, 2);
  });

  it('removes a 12 kHz tone that would otherwise fold back to 4 kHz', () => {
    const output = downsampleInBlocks(sine(12_000, 48_000, 1), 48_000, 16_000);
    expect(rms(output)).toBeLessThan(0.005);
  });

  it('gives the same output however the input is split into blocks', () => {
    const input = sine(440, 48_000, 0.3);
    const whole = new StreamingDownsampler(48_000, 16_000).push(input);
    const inBlocks = downsampleInBlocks(input, 48_000, 16_000, 37);
    expect(Array.from(inBlocks)).toEqual(Array.from(whole));
  });

  it('handles a non-integer ratio (44.1 kHz)', () => {
    const output = downsampleInBlocks(sine(700, 44_100, 1), 44_100, 16_000);
    expect(Math.abs(output.length - 16_000)).toBeLessThanOrEqual(16);
    expect(amplitudeAt(output, 700, 16_000)).toBeCloseTo(0.5, 2);
  });

  it('passes 16 kHz input through unchanged', () => {
    const input = sine(300, 16_000, 0.1);
    expect(Array.from(new StreamingDownsampler(16_000, 16_000).push(input))).toEqual(Array.from(input));
  });
});

describe('MicFrameBuilder', () => {
  it('cuts the stream into full Int16 frames with their RMS, keeping the remainder for the next call', () => {
    const builder = new MicFrameBuilder(480);
    expect(builder.append(new Float32Array(300).fill(0.25))).toEqual([]);
    const frames = builder.append(new Float32Array(700).fill(0.25));
    expect(frames).toHaveLength(2);
    for (const frame of frames) {
      expect(frame.pcm).toHaveLength(480);
      expect(frame.pcm.every((sample) => sample === Math.round(0.25 * 0x7fff))).toBe(true);
      expect(frame.rms).toBeCloseTo(0.25, 6);
    }
    expect(builder.append(new Float32Array(439))).toEqual([]); // 40 left over + 439 = one short of a frame
    expect(builder.append(new Float32Array(1))).toHaveLength(1);
  });

  it('clamps samples beyond full scale', () => {
    const [frame] = new MicFrameBuilder(4).append(Float32Array.from([2, -2, 1, -1]));
    expect(Array.from(frame!.pcm)).toEqual([32767, -32768, 32767, -32768]);
  });
});
