import { describe, expect, it } from 'vitest';
import { concatSamples } from './sampleArrays.js';

describe('concatSamples', () => {
  it('joins buffers end to end, in order, into the requested type', () => {
    const joined = concatSamples(Int16Array, [Int16Array.from([1, 2]), new Int16Array(0), Int16Array.from([-3])]);
    expect(joined).toBeInstanceOf(Int16Array);
    expect(Array.from(joined)).toEqual([1, 2, -3]);
    expect(Array.from(concatSamples(Float32Array, [Float32Array.from([0.5]), Float32Array.from([-0.25])]))).toEqual([0.5, -0.25]);
    expect(concatSamples(Int16Array, [])).toHaveLength(0);
  });

  it('copies: changing a part afterwards does not change the result', () => {
    const part = Int16Array.from([7, 8]);
    const joined = concatSamples(Int16Array, [part.subarray(1)]);
    part[1] = 0;
    expect(Array.from(joined)).toEqual([8]);
  });
});
