import { describe, expect, it } from 'vitest';
import { endSilenceFor } from '../turn/endOfTurnPolicy.js';
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
    expect(events.map((event) => event.type)).toEqual(['speech-start', 'speech-pause', 'speech-end']);
    expect(events[0]).toEqual({ type: 'speech-start', atMs: 400 });
    const end = events[2]!;
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

/** An event with the stream time of the block whose push reported it: when a listener heard it. */
type HeardEvent = VadEvent & { heardAtMs: number };

/**
 * Like `run`, but each event carries when it was reported, and `onEvent` may act on the segmenter the way the voice
 * session does (e.g. set a new end-of-speech silence when a pause is reported).
 */
function hear(pattern: string, segmenter: TurnSegmenter, onEvent: (event: VadEvent) => void = () => undefined): HeardEvent[] {
  const heard: HeardEvent[] = [];
  [...pattern].forEach((char, index) => {
    for (const event of segmenter.push(new Int16Array(BLOCK).fill(index), char === 'S' ? BLOCK : 0)) {
      heard.push({ ...event, heardAtMs: (index + 1) * BLOCK_MS });
      onEvent(event);
    }
  });
  return heard;
}

/** What the voice session does at a pause: picks the end-of-speech silence for the words heard so far. */
function adaptAtPause(segmenter: TurnSegmenter, text: string): (event: VadEvent) => void {
  return (event) => {
    if (event.type === 'speech-pause') {
      segmenter.setEndSilenceMs(endSilenceFor({ text, baseMs: DEFAULT_TURN_TAKING.endSilenceMs, adaptive: true, textCoversAllSpeech: true }).ms);
    }
  };
}

const summary = (events: HeardEvent[]) => events.map(({ type, atMs, heardAtMs }) => `${type} ${atMs}@${heardAtMs}`);

describe('TurnSegmenter pauses', () => {
  it('reports each pause once, after 200 ms of silence, and the resume when speech goes on', () => {
    const events = hear('SSS...SSS......', new TurnSegmenter(DEFAULT_TURN_TAKING));
    expect(summary(events)).toEqual([
      'speech-start 0@300',
      'speech-pause 300@500',
      'speech-resume 600@700',
      'speech-pause 900@1100',
      'speech-end 900@1400',
    ]);
    expect(events[1]).toMatchObject({ silentMs: 200 });
  });

  it('reports no pause before the turn is announced, nor when the turn ends in the same block', () => {
    expect(run('SS......S.......')).toEqual([]);
    const slowPause = new TurnSegmenter({ ...DEFAULT_TURN_TAKING, pauseMs: 500 });
    expect(run('SSSS.......', slowPause).map((event) => event.type)).toEqual(['speech-start', 'speech-end']);
  });
});

describe('TurnSegmenter end-of-speech silence set during a turn', () => {
  it('a complete question ends sooner than with the fixed 500 ms', () => {
    const pattern = 'SSSSSSSSSSSSSSSS.........';
    const fixedEnd = hear(pattern, new TurnSegmenter(DEFAULT_TURN_TAKING)).find((event) => event.type === 'speech-end');
    const adaptive = new TurnSegmenter(DEFAULT_TURN_TAKING);
    const adaptedEnd = hear(pattern, adaptive, adaptAtPause(adaptive, 'What is the capital of France?')).find((event) => event.type === 'speech-end');

    expect(fixedEnd).toMatchObject({ atMs: 1600, heardAtMs: 2100 });
    // 350 ms is reached inside the fourth silent block: the answer can start 100 ms sooner.
    expect(adaptedEnd).toMatchObject({ atMs: 1600, heardAtMs: 2000 });
  });

  it('a 700 ms pause after a hanging word stays one utterance, where the fixed 500 ms would cut it in two', () => {
    // "What's the weather like in … Paris", with the speaker searching for the name.
    const pattern = 'SSSSSSSSSS.......SSSSS............';
    const ends = (events: VadEvent[]) => events.filter((event) => event.type === 'speech-end');
    expect(ends(hear(pattern, new TurnSegmenter(DEFAULT_TURN_TAKING)))).toHaveLength(2);

    const adaptive = new TurnSegmenter(DEFAULT_TURN_TAKING);
    const events = hear(pattern, adaptive, adaptAtPause(adaptive, "What's the weather like in"));
    expect(ends(events)).toHaveLength(1);
    expect(ends(events)[0]).toMatchObject({ startMs: 0, atMs: 2200 });
    // The pause is reported once and the resume follows it, so a speculative start would be discarded.
    expect(events.map((event) => event.type)).toEqual(['speech-start', 'speech-pause', 'speech-resume', 'speech-pause', 'speech-end']);
  });

  it('counts the silence already heard: a shorter value it already exceeds ends the turn with the next block', () => {
    const pattern = 'SSSS..........';
    const configured = hear(pattern, new TurnSegmenter({ ...DEFAULT_TURN_TAKING, endSilenceMs: 1000 }));
    expect(configured.find((event) => event.type === 'speech-end')).toMatchObject({ atMs: 400, heardAtMs: 1400 });

    const segmenter = new TurnSegmenter({ ...DEFAULT_TURN_TAKING, endSilenceMs: 1000 });
    const events: HeardEvent[] = [];
    [...pattern].forEach((char, index) => {
      // After 400 ms of silence (a slow partial transcript) the words turn out to be a complete question: 250 ms.
      if (index === 8) segmenter.setEndSilenceMs(250);
      for (const event of segmenter.push(new Int16Array(BLOCK), char === 'S' ? BLOCK : 0)) events.push({ ...event, heardAtMs: (index + 1) * BLOCK_MS });
    });
    expect(events.find((event) => event.type === 'speech-end')).toMatchObject({ atMs: 400, heardAtMs: 900 });
  });

  it('applies to one turn only: the next turn starts with the configured silence again', () => {
    const segmenter = new TurnSegmenter(DEFAULT_TURN_TAKING);
    let turns = 0;
    const events = hear('SSSS......SSSS.........', segmenter, (event) => {
      if (event.type === 'speech-start' && ++turns === 1) segmenter.setEndSilenceMs(250);
    });
    expect(summary(events.filter((event) => event.type === 'speech-end'))).toEqual(['speech-end 400@700', 'speech-end 1400@1900']);
  });

  it('is ignored between turns, and rejects a value that is not a positive number of ms', () => {
    const segmenter = new TurnSegmenter(DEFAULT_TURN_TAKING);
    segmenter.setEndSilenceMs(100);
    expect(summary(hear('SSSS.......', segmenter).filter((event) => event.type === 'speech-end'))).toEqual(['speech-end 400@900']);
    expect(() => segmenter.setEndSilenceMs(0)).toThrow(RangeError);
    expect(() => segmenter.setEndSilenceMs(Number.NaN)).toThrow(RangeError);
  });
});
