/** Sample buffers as the audio code passes them around: 16-bit PCM frames or float blocks. */
export type SampleArray = Int16Array | Float32Array;

/** Joins sample buffers end to end into a new one of the given type (`Int16Array` or `Float32Array`). */
export function concatSamples<T extends SampleArray>(ArrayType: new (length: number) => T, parts: readonly SampleArray[]): T {
  const joined = new ArrayType(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}
