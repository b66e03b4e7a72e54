import { describe, expect, it } from 'vitest';
import { decodePcm16Base64 } from './pcmBase64.js';

describe('decodePcm16Base64', () => {
  it('decodes little-endian Int16 as the agent encodes it (Node Buffer base64) into -1..1 floats', () => {
    const samples = Int16Array.from([0, 1, -1, 16384, -16384, 32767, -32768]);
    const base64 = Buffer.from(samples.buffer).toString('base64');
    expect(Array.from(decodePcm16Base64(base64))).toEqual([0, 1 / 32768, -1 / 32768, 0.5, -0.5, 32767 / 32768, -1]);
  });

  it('ignores a trailing odd byte and decodes an empty chunk to no samples', () => {
    expect(decodePcm16Base64(Buffer.from([0x00, 0x40, 0x7f]).toString('base64'))).toEqual(Float32Array.from([0.5]));
    expect(decodePcm16Base64('')).toHaveLength(0);
  });
});
