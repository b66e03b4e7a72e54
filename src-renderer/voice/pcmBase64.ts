/** Decodes a `speech-audio` chunk (base64 of little-endian 16-bit PCM) into float samples in -1..1 for WebAudio. */
export function decodePcm16Base64(pcmBase64: string): Float32Array<ArrayBuffer> {
  const binary = atob(pcmBase64);
  const sampleCount = Math.floor(binary.length / 2);
  const samples = new Float32Array(sampleCount);
  for (let index = 0; index < sampleCount; index++) {
    const low = binary.charCodeAt(2 * index);
    const high = binary.charCodeAt(2 * index + 1);
    const unsigned = low | (high << 8);
    const signed = unsigned >= 0x8000 ? unsigned - 0x10000 : unsigned;
    samples[index] = signed / 0x8000;
  }
  return samples;
}
