import { describe, expect, it } from 'vitest';
import { TurnSegmenter } from '../vad/turnSegmenter.js';
import { DEFAULT_TURN_TAKING, type VadEvent, type VoiceActivityDetector } from '../vad/voiceActivityDetector.js';
import type { TurnDetectorListener } from './turnDetector.js';
import { VadTurnDetector } from './vadTurnDetector.js';

const BLOCK_MS = 100;
const BLOCK = 1600;

/** A VAD that hears speech in any frame that is not all zeros; the turn rules are the real ones. */
function segmentingVad(): VoiceActivityDetector & { setEndSilenceMs(ms: number): void } {
  const segmenter = new TurnSegmenter(DEFAULT_TURN_TAKING);
  return {
    push: async (frame): Promise<VadEvent[]> => segmenter.push(frame, frame.some((sample) => sample !== 0) ? frame.length : 0),
    flush: async () => segmenter.flush(),
    reset: () => segmenter.reset(),
    setEndSilenceMs: (ms) => segmenter.setEndSilenceMs(ms),
    dispose: async () => undefined,
  };
}

/**
 * Pushes a pattern such as "SS..S" (one char per 100 ms: S speech, . silence) and returns what the listener heard,
 * each with the stream time of the block that reported it. `beforeBlock` runs before each block is pushed.
 */
async function listen(
  detector: (listener: TurnDetectorListener) => VadTurnDetector,
  pattern: string,
  beforeBlock: (index: number, detector: VadTurnDetector) => void = () => undefined,
): Promise<string[]> {
  const heard: string[] = [];
  let nowMs = 0;
  const note = (what: string) => heard.push(`${what} @${nowMs}`);
  const turns = detector({
    speechStarted: () => note('started'),
    utterance: () => note('utterance'),
    tooShort: () => note('too short'),
    speechPaused: (silentMs) => note(`paused ${silentMs} ms`),
    speechResumed: () => note('resumed'),
  });
  for (const [index, char] of [...pattern].entries()) {
    beforeBlock(index, turns);
    nowMs = (index + 1) * BLOCK_MS;
    await turns.push(new Int16Array(BLOCK).fill(char === 'S' ? 1000 : 0));
  }
  return heard;
}

describe('VadTurnDetector', () => {
  it('tells the listener about pauses and resumes inside an utterance, in order', async () => {
    const vad = segmentingVad();
    const heard = await listen((listener) => new VadTurnDetector(listener, () => vad, () => false), 'SSS...SSS......');
    expect(heard).toEqual(['started @300', 'paused 200 ms @500', 'resumed @700', 'paused 200 ms @1100', 'utterance @1400']);
  });

  it('passes the end-of-speech silence to the VAD: a complete question ends sooner', async () => {
    const vad = segmentingVad();
    const heard = await listen(
      (listener) => new VadTurnDetector(listener, () => vad, () => false),
      'SSSS.......',
      (index, detector) => index === 5 && detector.setEndSilenceMs(250),
    );
    expect(heard).toEqual(['started @300', 'paused 200 ms @600', 'utterance @700']);
  });

  it('keeps the configured silence when the VAD cannot change it, and does nothing while there is no VAD', async () => {
    const { setEndSilenceMs: _unsupported, ...fixed } = segmentingVad();
    const heard = await listen(
      (listener) => new VadTurnDetector(listener, () => fixed, () => false),
      'SSSS.......',
      (index, detector) => index === 5 && detector.setEndSilenceMs(250),
    );
    expect(heard).toEqual(['started @300', 'paused 200 ms @600', 'utterance @900']);
    const noVad = await listen((listener) => new VadTurnDetector(listener, () => undefined, () => false), 'SSSS.......', (_index, detector) => detector.setEndSilenceMs(250));
    expect(noVad).toEqual([]);
  });
});
