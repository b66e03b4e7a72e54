import { describe, expect, it } from 'vitest';
import { passesEnergyGate, rmsDbfs, SILENCE_DBFS, speechLevelDbfs } from './energyGate.js';

function sine(amplitude: number, samples: number): Int16Array {
  return Int16Array.from({ length: samples }, (_, i) => Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * 440 * i) / 16_000)));
}

describe('energyGate', () => {
  it('measures a full-scale sine at -3 dBFS and a 1% sine at -43 dBFS', () => {
    expect(rmsDbfs(sine(1, 16_000))).toBeCloseTo(-3.01, 1);
    expect(rmsDbfs(sine(0.01, 16_000))).toBeCloseTo(-43.0, 0);
  });

  it('reports digital silence and empty audio as the silence floor, never -Infinity', () => {
    expect(rmsDbfs(new Int16Array(1600))).toBe(SILENCE_DBFS);
    expect(rmsDbfs(new Int16Array(0))).toBe(SILENCE_DBFS);
  });

  it('lets speech-level audio through and holds near-silence back', () => {
    expect(passesEnergyGate(sine(0.1, 1600))).toBe(true);
    expect(passesEnergyGate(sine(0.001, 1600))).toBe(false); // -63 dBFS: a quiet room
  });

  it('rates a short loud phrase inside long silence by the phrase, not by the silence', () => {
    const audio = new Int16Array(16_000 * 5);
    audio.set(sine(0.3, 16_000), 16_000 * 2); // 1 s of sound in 5 s
    expect(rmsDbfs(audio)).toBeLessThan(-19);
    expect(speechLevelDbfs(audio)).toBeCloseTo(rmsDbfs(sine(0.3, 16_000)), 0);
  });

  it('does not rate silence with one click as loud', () => {
    const audio = new Int16Array(16_000 * 2);
    audio.set(sine(0.8, 320), 8000);
    expect(speechLevelDbfs(audio)).toBe(SILENCE_DBFS);
  });
});
