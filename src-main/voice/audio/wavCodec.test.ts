import { describe, expect, it } from 'vitest';
import { encodeWav16 } from './wavCodec.node.js';

describe('encodeWav16', () => {
  it('writes a canonical mono 16-bit PCM header and the samples, little-endian', () => {
    const samples = Int16Array.from([0, 1, -1, 32767, -32768, 1234]);
    const wav = encodeWav16(samples, 22050);

    expect(wav.length).toBe(44 + samples.length * 2);
    expect(wav.toString('latin1', 0, 4)).toBe('RIFF');
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
    expect(wav.toString('latin1', 8, 16)).toBe('WAVEfmt ');
    expect(wav.readUInt32LE(16)).toBe(16);
    expect(wav.readUInt16LE(20)).toBe(1); // PCM
    expect(wav.readUInt16LE(22)).toBe(1); // mono
    expect(wav.readUInt32LE(24)).toBe(22050);
    expect(wav.readUInt32LE(28)).toBe(44100); // bytes per second
    expect(wav.readUInt16LE(32)).toBe(2); // bytes per frame
    expect(wav.readUInt16LE(34)).toBe(16);
    expect(wav.toString('latin1', 36, 40)).toBe('data');
    expect(wav.readUInt32LE(40)).toBe(samples.length * 2);
    const decoded = Array.from({ length: samples.length }, (_, i) => wav.readInt16LE(44 + i * 2));
    expect(decoded).toEqual(Array.from(samples));
  });

  it('writes a valid empty file for no samples', () => {
    const wav = encodeWav16(new Int16Array(0), 16000);
    expect(wav.length).toBe(44);
    expect(wav.readUInt32LE(40)).toBe(0);
  });

  it('rejects a sample rate that is not a positive integer', () => {
    expect(() => encodeWav16(new Int16Array(4), 0)).toThrow(/sampleRate/);
    expect(() => encodeWav16(new Int16Array(4), 16000.5)).toThrow(/sampleRate/);
  });
});
