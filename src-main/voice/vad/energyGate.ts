/** Level of digital silence; also the floor returned for all-zero audio so callers never see -Infinity. */
export const SILENCE_DBFS = -100;

/** Below this a block is treated as silence without asking a model: a quiet room sits near -60 dBFS. */
export const DEFAULT_ENERGY_GATE_DBFS = -50;

/** RMS level of 16-bit PCM in dB relative to full scale (a full-scale square wave is 0 dBFS). */
export function rmsDbfs(samples: Int16Array, from = 0, to = samples.length): number {
  if (to <= from) return SILENCE_DBFS;
  let sumOfSquares = 0;
  for (let i = from; i < to; i++) sumOfSquares += samples[i]! * samples[i]!;
  const rms = Math.sqrt(sumOfSquares / (to - from)) / 32768;
  return rms === 0 ? SILENCE_DBFS : Math.max(SILENCE_DBFS, 20 * Math.log10(rms));
}

/**
 * Loudness of the voiced part of an utterance: the 90th percentile of 20 ms frame levels.
 * A percentile rather than the overall RMS, so that a short loud sentence inside long silence still
 * counts as loud, and a single click does not make silence count as speech.
 */
export function speechLevelDbfs(samples: Int16Array, sampleRate = 16_000): number {
  const frame = Math.round(sampleRate * 0.02);
  const levels: number[] = [];
  for (let start = 0; start + frame <= samples.length; start += frame) levels.push(rmsDbfs(samples, start, start + frame));
  if (levels.length === 0) return rmsDbfs(samples);
  levels.sort((a, b) => a - b);
  return levels[Math.floor(0.9 * (levels.length - 1))]!;
}

/** True when the audio is loud enough to possibly hold speech. */
export function passesEnergyGate(samples: Int16Array, thresholdDbfs = DEFAULT_ENERGY_GATE_DBFS): boolean {
  return rmsDbfs(samples) >= thresholdDbfs;
}
