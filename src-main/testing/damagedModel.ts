/** The damage of issue 11: 200 KiB overwritten at byte 300,000 of a GGUF file. */
export const DAMAGE_OFFSET = 300_000;
export const DAMAGE_BYTES = 200 * 1024;

/**
 * A copy of `model` with DAMAGE_BYTES at DAMAGE_OFFSET overwritten by noise (xorshift32, fixed seed, so every run gets
 * the same file). In stories260K.gguf (1,185,376 bytes, all F32) that is the weights of layers 0 and 1; as floats, the
 * noise holds NaNs and huge values, the logits become NaN, and llama.cpp picks token 0 (<unk>) every time: 512
 * tokens that decode to no text. The header and the tensor table are untouched, so the file still loads.
 */
export function damagedCopy(model: Buffer): Buffer {
  if (model.length < DAMAGE_OFFSET + DAMAGE_BYTES) {
    throw new Error(`The model is ${model.length} bytes; the damage needs at least ${DAMAGE_OFFSET + DAMAGE_BYTES}.`);
  }
  const copy = Buffer.from(model);
  let state = 0x2545f491;
  for (let index = 0; index < DAMAGE_BYTES; index += 1) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    copy[DAMAGE_OFFSET + index] = state & 0xff;
  }
  return copy;
}

/** A manifest entry for a copy of stories260K put into a test models dir as `llm/<id>.gguf`, with the pristine checksum. */
export function storiesCopyEntry(id: string, pristine: Buffer, pristineSha256: string) {
  return {
    id,
    role: 'llm',
    file: `llm/${id}.gguf`,
    url: 'https://example.invalid/stories260K.gguf',
    sizeBytes: pristine.length,
    sha256: pristineSha256,
    license: 'MIT',
    description: 'stories260K copied into a test models dir.',
    testOnly: true,
  };
}
