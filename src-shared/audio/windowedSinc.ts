/**
 * The band-limiting kernel shared by the file resampler (main) and the microphone's streaming downsampler
 * (renderer): a sinc low-pass with a Blackman window.
 */

/**
 * Weight of an input sample `distance` samples from the output point. `cutoff` is the low-pass cutoff as a fraction
 * of the input Nyquist frequency; the window spans `halfWidth` input samples on each side.
 */
export function windowedSincWeight(distance: number, cutoff: number, halfWidth: number): number {
  return cutoff * sinc(cutoff * distance) * blackman(distance / halfWidth);
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

/** Blackman window over t in [-1, 1]. */
function blackman(t: number): number {
  if (t <= -1 || t >= 1) return 0;
  const phase = Math.PI * (t + 1);
  return 0.42 - 0.5 * Math.cos(phase) + 0.08 * Math.cos(2 * phase);
}
