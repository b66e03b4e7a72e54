import { describe, expect, it } from 'vitest';
import { TurnSegmenter } from './turnSegmenter.js';
import { DEFAULT_TURN_TAKING, type VadEvent } from './voiceActivityDetector.js';

const BLOCK_MS = 100;
const BLOCK = 1600;

/** Feeds a pattern such as "..SSSS......" (one char per 100 ms: S speech, s half speech, . silence); block i holds the value i. */
function run(pattern: string, segmenter = new TurnSegmenter(DEFAULT_TURN_TAKING)): VadEvent[] {
  const events: VadEvent[] = [];
  [...pattern].forEach((char, index) => events.push(...segmenter.push(new Int16Array(BLOCK).fill(index), char === 'S' ? BLOCK : char === 's' ? BLOCK / 2 : 0)));
  return [...events, ...segmenter.flush()];
}

describe('TurnSegmenter', () => {
  it('announces a turn at its start once it is long enough, and ends it after 500 ms of silence', () => {
    const events = run('....SSSS.......');
    expect(events.map((event) => event.type)).toEqual(['speech-start', 'speech-end']);
    expect(events[0]).toEqual({ type: 'speech-start', atMs: 400 });
    const end = events[1]!;
    if (end.type !== 'speech-end') throw new Error('expected speech-end');
    expect(end).toMatchObject({ atMs: 800, startMs: 400, capped: false });
    // 200 ms pre-roll (blocks 2–3), the speech (4–7), 200 ms of trailing silence (8–9).
    const blocksInAudio = [...new Set(end.audio)];
    expect(blocksInAudio).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('ignores blips shorter than the minimum speech length', () => {
    expect(run('...SS.......S.......')).toEqual([]);
  });

  it('counts voiced samples, not blocks: two half-voiced blocks are too short', () => {
    expect(run('..ss.......')).toEqual([]);
    expect(run('..sSSs......')[0]).toEqual({ type: 'speech-start', atMs: 250 });
  });

  it('keeps one turn across pauses shorter than the end-of-speech silence', () => {
    const events = run('SSS....SSS.......').filter((event) => event.type === 'speech-end');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ startMs: 0, atMs: 1000 });
  });

  it('ends an unfinished turn on flush', () => {
    expect(run('..SSSSS').map((event) => event.type)).toEqual(['speech-start', 'speech-end']);
  });

  it('caps a long utterance and ignores the rest until a pause', () => {
    const segmenter = new TurnSegmenter({ ...DEFAULT_TURN_TAKING, maxUtteranceMs: 1000 });
    const events = run(`${'S'.repeat(25)}......SSS......`, segmenter).filter((event) => event.type === 'speech-end');
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ startMs: 0, atMs: 1000, capped: true });
    expect(events[1]).toMatchObject({ startMs: 3100, capped: false });
    expect(BLOCK_MS * 31).toBe(3100);
  });
});
