import { windowedSincWeight } from '../../../src-shared/audio/windowedSinc.js';

/** Zero crossings of the sinc on each side of the output point: 16 gives a steep low-pass at modest cost. */
const HALF_WIDTH_ZERO_CROSSINGS = 16;

/**
 * Band-limited resampling by direct windowed-sinc interpolation (Blackman window).
 * When downsampling the sinc is stretched so its cutoff sits at the output Nyquist frequency,
 * which removes what would otherwise alias (linear interpolation would fold 8–22 kHz into speech).
 */
export function resampleWindowedSinc(input: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return input.slice();
  const outputLength = Math.round((input.length * toRate) / fromRate);
  const output = new Float32Array(outputLength);
  const step = fromRate / toRate; // input samples per output sample
  const cutoff = Math.min(1, toRate / fromRate); // as a fraction of the input Nyquist frequency
  const halfWidth = HALF_WIDTH_ZERO_CROSSINGS / cutoff; // in input samples
  for (let outIndex = 0; outIndex < outputLength; outIndex++) {
    const center = outIndex * step;
    const first = Math.max(0, Math.ceil(center - halfWidth));
    const last = Math.min(input.length - 1, Math.floor(center + halfWidth));
    let sum = 0;
    let weightSum = 0;
    for (let inIndex = first; inIndex <= last; inIndex++) {
      const distance = inIndex - center;
      const weight = windowedSincWeight(distance, cutoff, halfWidth);
      sum += input[inIndex]! * weight;
      weightSum += weight;
    }
    // Normalising by the weight sum keeps DC gain exactly 1, including near the edges.
    output[outIndex] = weightSum === 0 ? 0 : sum / weightSum;
  }
  return output;
}
