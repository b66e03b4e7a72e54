import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AgentEvent } from '../../src-shared/contract/index.js';
import type { Agent } from '../app/createAgent.node.js';
import { ScriptedLlm } from '../testing/scriptedLlm.js';
import { arrival, ofType, startScriptedVoiceAgent, type ScriptedVoiceAgent } from '../testing/scriptedVoiceAgent.js';
import { FRAME_SAMPLES } from '../testing/scriptedVoiceEngines.js';
import { neverInterruptPolicy } from './turn/interruptionPolicy.js';
import type { VoiceSession } from './voiceSession.node.js';

/*
 * Turn-taking with scripted fake engines (VAD, recogniser, voice, model): the real voice session and agent, with
 * engines that do what each test says, when it says. Every wait is for an event, with a deadline.
 */

const ANSWER = ['The first sentence. ', 'The second ', 'sentence. ', 'The third sentence.'];
/** Mic audio; the scripted VAD decides what is speech, not the samples. */
const FRAME = new Int16Array(FRAME_SAMPLES).fill(1000);

type Harness = ScriptedVoiceAgent;

let running: Agent | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function start(options: { transcripts: string[]; pauseAfter?: number; mode?: 'push-to-talk' | 'hands-free'; guards?: boolean }): Promise<Harness> {
  const harness = await startScriptedVoiceAgent({ ...options, llm: new ScriptedLlm(ANSWER, options.pauseAfter) });
  running = harness.agent;
  return harness;
}

async function push(voice: VoiceSession, frames: number): Promise<void> {
  for (let i = 0; i < frames; i++) await voice.pushFrame(FRAME);
}

/** A whole utterance, hands-free: speech starts at the next frame and ends `frames` later. */
async function say(h: Harness, frames = 10): Promise<void> {
  await push(h.voice, h.engines.vad.utterance({ frames }));
}

async function storedAnswer(h: Harness, conversationId: string) {
  return (await h.agent.call('conversations:messages', { id: conversationId })).at(-1);
}

describe('turn-taking with scripted engines', () => {
  it('utterances are transcribed one at a time and answered in the order they were spoken', async () => {
    const h = await start({ transcripts: ['first question', 'second question', 'third question'] });
    h.engines.transcriber.gate.close();
    await say(h);
    await say(h);
    await say(h);
    // Three utterances heard, each recognised as it was spoken: all three final transcripts are on their way.
    await vi.waitFor(() => expect(h.engines.transcriber.gate.waiters).toBe(3), { timeout: 5_000, interval: 1 });
    expect(h.engines.transcriber.heard).toHaveLength(3);
    expect(ofType(h.events, 'turn-started')).toHaveLength(0);
    h.engines.transcriber.gate.open();
    expect(await h.voice.endOfInput()).toEqual({ utterances: 3 });
    await vi.waitFor(() => expect(ofType(h.events, 'done')).toHaveLength(3), { timeout: 5_000, interval: 1 });
    expect(ofType(h.events, 'transcript').map((e) => e.text)).toEqual(['first question', 'second question', 'third question']);
    expect(ofType(h.events, 'turn-started').map((e) => e.question)).toEqual(['first question', 'second question', 'third question']);
    expect(ofType(h.events, 'done').at(-1)).toMatchObject({ interrupted: false, text: ANSWER.join('') });
  });

  it('speaking while the answer is being thought out stops generation; the answer is kept, marked interrupted', async () => {
    const h = await start({ transcripts: ['what is the weather', 'never mind'] });
    h.llm.thinking.close();
    await say(h);
    const started = await arrival(h.events, 'turn-started');
    await vi.waitFor(() => expect(h.llm.thinking.waiters).toBe(1), { timeout: 5_000, interval: 1 });
    expect(h.voice.getStatus().state).toBe('thinking');

    // The user starts speaking again: speech start is enough, before the utterance ends.
    await push(h.voice, h.engines.vad.utterance({ after: 1, frames: 1_000 }) - 1_000);
    expect(ofType(h.events, 'speech-stop')).toEqual([{ type: 'speech-stop', turnId: started.turnId, reason: 'barge-in' }]);
    expect(h.llm.generations[0]!.signal.aborted).toBe(true);
    const done = await arrival(h.events, 'done', (e) => e.turnId === started.turnId);
    expect(done).toMatchObject({ interrupted: true, text: '' });
    expect(ofType(h.events, 'token')).toHaveLength(0);
    expect(await storedAnswer(h, started.conversationId)).toMatchObject({ role: 'assistant', status: 'interrupted' });
    expect(h.voice.getStatus().state).toBe('listening');
  });

  it('speaking while the answer is spoken stops playback and generation; nothing more is spoken', async () => {
    const h = await start({ transcripts: ['tell me a story', 'stop'], pauseAfter: 2 });
    h.llm.paused.close();
    await say(h);
    const started = await arrival(h.events, 'turn-started');
    await arrival(h.events, 'speech-audio', (e) => e.turnId === started.turnId);
    expect(h.voice.getStatus().state).toBe('speaking');

    await push(h.voice, h.engines.vad.utterance({ after: 1, frames: 1_000 }) - 1_000);
    const stops = ofType(h.events, 'speech-stop');
    expect(stops).toEqual([{ type: 'speech-stop', turnId: started.turnId, reason: 'barge-in' }]);
    expect(h.llm.generations[0]!.signal.aborted).toBe(true);
    const done = await arrival(h.events, 'done', (e) => e.turnId === started.turnId);
    expect(done).toMatchObject({ interrupted: true });
    expect(h.engines.synthesizer.spoken).toEqual(['The first sentence.']);
    const stopIndex = h.events.indexOf(stops[0]!);
    expect(h.events.slice(stopIndex).filter((e) => e.type === 'speech-audio' || e.type === 'speech-sentence')).toHaveLength(0);
    expect(await storedAnswer(h, started.conversationId)).toMatchObject({ role: 'assistant', status: 'interrupted' });
  });

  it('a new question interrupts the answer to the previous one, and is answered', async () => {
    const h = await start({ transcripts: ['first question', 'second question'], pauseAfter: 2 });
    h.llm.paused.close();
    h.engines.transcriber.gate.close();
    await say(h);
    // The second question starts while the first is still being transcribed: that interrupts nothing.
    const rest = h.engines.vad.utterance({ after: 1, frames: 10 });
    await push(h.voice, 2);
    expect(ofType(h.events, 'speech-stop')).toHaveLength(0);
    h.engines.transcriber.gate.open();
    const first = await arrival(h.events, 'turn-started');
    await arrival(h.events, 'speech-audio', (e) => e.turnId === first.turnId);
    expect(ofType(h.events, 'speech-stop')).toHaveLength(0);

    // It ends while the first answer is being spoken: the next question interrupts it.
    await push(h.voice, rest - 2);
    const stop = await arrival(h.events, 'speech-stop');
    expect(stop).toMatchObject({ turnId: first.turnId, reason: 'barge-in' });
    expect(await arrival(h.events, 'done', (e) => e.turnId === first.turnId)).toMatchObject({ interrupted: true });
    const second = await arrival(h.events, 'turn-started', (e) => e.turnId !== first.turnId);
    expect(second.question).toBe('second question');
    h.llm.paused.open();
    expect(await arrival(h.events, 'done', (e) => e.turnId === second.turnId)).toMatchObject({ interrupted: false });
  });

  it('silence or noise starts no turn, and an utterance without words is not answered', async () => {
    const h = await start({ transcripts: [''] });
    await push(h.voice, 100);
    expect(await h.voice.endOfInput()).toEqual({ utterances: 0 });
    expect(h.engines.transcriber.heard).toHaveLength(0);

    await say(h);
    expect(await h.voice.endOfInput()).toEqual({ utterances: 1 });
    expect(ofType(h.events, 'transcript')).toMatchObject([{ final: true, text: '' }]);
    expect(ofType(h.events, 'turn-started')).toHaveLength(0);
    expect(h.llm.generations).toHaveLength(0);
    expect(await h.agent.call('conversations:list')).toHaveLength(0);
    expect(h.voice.getStatus().state).toBe('idle');
  });

  it('push-to-talk: pressing the key while the answer is spoken is a barge-in, and the next question is heard', async () => {
    const h = await start({ transcripts: ['tell me a story', 'what time is it'], pauseAfter: 2, mode: 'push-to-talk' });
    h.llm.paused.close();
    h.voice.ptt(true);
    await push(h.voice, 20);
    h.voice.ptt(false);
    const first = await arrival(h.events, 'turn-started');
    await arrival(h.events, 'speech-audio', (e) => e.turnId === first.turnId);

    expect(h.voice.ptt(true)).toBe('listening');
    expect(ofType(h.events, 'speech-stop')).toEqual([{ type: 'speech-stop', turnId: first.turnId, reason: 'barge-in' }]);
    expect(h.llm.generations[0]!.signal.aborted).toBe(true);
    expect(await arrival(h.events, 'done', (e) => e.turnId === first.turnId)).toMatchObject({ interrupted: true });
    await push(h.voice, 20);
    h.voice.ptt(false);
    const second = await arrival(h.events, 'turn-started', (e) => e.turnId !== first.turnId);
    expect(second.question).toBe('what time is it');
  });

  it('with a never-interrupt policy, speaking over the answer stops nothing: the next question is answered after it', async () => {
    const h = await start({ transcripts: ['tell me a story', 'and another one'], pauseAfter: 2 });
    h.voice.useInterruptionPolicy(neverInterruptPolicy);
    h.llm.paused.close();
    await say(h);
    const first = await arrival(h.events, 'turn-started');
    await arrival(h.events, 'speech-audio', (e) => e.turnId === first.turnId);

    await say(h);
    expect(ofType(h.events, 'speech-stop')).toHaveLength(0);
    expect(h.llm.generations[0]!.signal.aborted).toBe(false);
    expect(ofType(h.events, 'turn-started')).toHaveLength(1);

    h.llm.paused.open();
    expect(await h.voice.endOfInput()).toEqual({ utterances: 2 });
    const firstDone = await arrival(h.events, 'done', (e) => e.turnId === first.turnId);
    expect(firstDone).toMatchObject({ interrupted: false });
    const second = await arrival(h.events, 'turn-started', (e) => e.turnId !== first.turnId);
    expect(second.question).toBe('and another one');
    await arrival(h.events, 'done', (e) => e.turnId === second.turnId);
    // The whole first answer was spoken before the second question was taken up.
    const firstSpoken = ofType(h.events, 'speech-audio').filter((e) => e.turnId === first.turnId);
    expect(firstSpoken.map((e) => e.seq)).toEqual([0, 1, 2]);
    expect(h.events.indexOf(firstSpoken.at(-1)!)).toBeLessThan(h.events.indexOf(second));
  });

  it('voice stages are on the turn timeline from the end of speech: stt (with its wait in the queue) and tts until the first audio', async () => {
    const h = await start({ transcripts: ['first question', 'second question'] });
    // Both questions are answered in full, so both turns have their waterfall.
    h.voice.useInterruptionPolicy(neverInterruptPolicy);
    h.engines.transcriber.gate.close();
    await say(h);
    await say(h);
    const secondEndedBy = performance.now();
    await vi.waitFor(() => expect(h.engines.transcriber.gate.waiters).toBe(2), { timeout: 5_000, interval: 1 });
    const releasedAt = performance.now();
    h.engines.transcriber.gate.open();
    const timings = await arrival(h.events, 'voice-timings');
    const stages = ofType(h.events, 'stage').filter((e) => e.turnId === timings.turnId);
    const at = (name: string, phase: 'start' | 'end') => stages.find((e) => e.name === name && e.phase === phase)?.t;
    expect(stages.map((e) => `${e.name}:${e.phase}`)).toEqual(expect.arrayContaining(['stt:start', 'stt:end', 'tts:start', 'tts:end']));
    expect(at('tts', 'start')).toBeGreaterThanOrEqual(at('first-sentence', 'end')!);
    expect(timings.waterfall).toEqual({
      transcriptMs: at('stt', 'end'),
      preparedMs: expect.any(Number),
      speculation: 'none',
      firstTokenMs: at('first-token', 'end'),
      firstSentenceMs: at('first-sentence', 'end'),
      firstAudioMs: at('tts', 'end'),
    });
    // The second utterance waited behind the first: its stages count from its own end of speech, wait included.
    const second = await arrival(h.events, 'turn-started', (e) => e.turnId !== timings.turnId);
    const secondStt = await arrival(h.events, 'stage', (e) => e.turnId === second.turnId && e.name === 'stt' && e.phase === 'start');
    expect(secondStt.t).toBeGreaterThanOrEqual(releasedAt - secondEndedBy - 0.1);
  });

  it('with the council on, a spoken question is answered by the council, and only its final answer is spoken', async () => {
    const h = await start({ transcripts: ['what is the weather like today'] });
    await h.voice.configure({ council: true });
    await say(h);
    const timings = await arrival(h.events, 'voice-timings');
    const council = ofType(h.events, 'council').filter((e) => e.turnId === timings.turnId);
    expect(council.filter((e) => e.kind === 'answer')).toHaveLength(3);
    const done = await arrival(h.events, 'done', (e) => e.turnId === timings.turnId);
    expect(done.council).toMatchObject({ members: expect.any(Array) });
    // The members' answers and rankings were shown, not spoken: the voice said the final answer's sentences, once.
    expect(h.engines.synthesizer.spoken).toEqual(['The first sentence.', 'The second sentence.', 'The third sentence.']);
  });

  describe('speculative turns: prepared during the pause at the end of speech', () => {
    /**
     * Speaks one utterance of 50 frames (1 s) with a pause (200 ms of silence, as the VAD reports it) at its 40th
     * frame. At frame `heardAt` (default: the pause) the recogniser has heard `heard`; `resume` makes the user go on
     * after the pause.
     */
    async function sayWithPause(h: Harness, heard: string, options: { resume?: boolean; heardAt?: number } = {}): Promise<void> {
      const frames = h.engines.vad.utterance({ frames: 50, pauses: [{ at: 40, ...(options.resume && { resume: 44 }) }] });
      const heardAt = (options.heardAt ?? 40) + 2; // speech starts at the next frame
      await push(h.voice, heardAt);
      h.engines.transcriber.streams.at(-1)!.hear(heard);
      await push(h.voice, frames - heardAt);
    }

    /** Every turn id any event carried must be one of a turn that started: nothing of a dropped turn got out. */
    function expectOnlyStartedTurns(events: readonly AgentEvent[]): void {
      const started = new Set(ofType(events, 'turn-started').map((e) => e.turnId));
      const carried = events.flatMap((e) => ('turnId' in e && typeof e.turnId === 'string' ? [e.turnId] : []));
      expect(carried.filter((id) => !started.has(id))).toEqual([]);
    }

    it('the same final words keep what was prepared: it was ready before the end of speech, its verdicts come with the turn', async () => {
      const h = await start({ transcripts: ['what is the weather like today'], guards: true });
      await sayWithPause(h, 'what is the weather like today');
      expect(h.voice.speculationCounts).toMatchObject({ started: 1 });
      const timings = await arrival(h.events, 'voice-timings');
      expect(timings.waterfall.speculation).toBe('adopted');
      // Prepared during the pause: done by the end of speech, or just after it if a check was still running.
      expect(timings.waterfall.preparedMs).not.toBeNull();
      const started = await arrival(h.events, 'turn-started');
      const verdicts = ofType(h.events, 'guard-verdict').filter((e) => e.turnId === started.turnId);
      expect(verdicts.length).toBeGreaterThan(0);
      for (const verdict of verdicts) {
        expect(verdict.conversationId).toBe(started.conversationId);
        expect(h.events.indexOf(verdict)).toBeGreaterThan(h.events.indexOf(started));
      }
      expect(h.llm.generations.map((g) => g.question)).toEqual(['what is the weather like today']);
      expectOnlyStartedTurns(h.events);
    });

    it('the same words written differently keep it, and the answer is to the words as finally written', async () => {
      const h = await start({ transcripts: ['What is the weather like today?'] });
      await sayWithPause(h, 'what is the weather like today');
      const timings = await arrival(h.events, 'voice-timings');
      expect(timings.waterfall.speculation).toBe('adopted');
      expect(h.llm.generations.map((g) => g.question)).toEqual(['What is the weather like today?']);
    });

    it('different final words drop it: only the final words are answered and stored, nothing of the dropped turn gets out', async () => {
      const h = await start({ transcripts: ['what is the weather like in paris'], guards: true });
      await sayWithPause(h, 'what is the weather like');
      const timings = await arrival(h.events, 'voice-timings');
      expect(timings.waterfall.speculation).toBe('discarded');
      expect(h.voice.speculationCounts).toMatchObject({ started: 1, discarded: 1, adopted: 0 });
      expect(ofType(h.events, 'turn-started').map((e) => e.question)).toEqual(['what is the weather like in paris']);
      expect(h.llm.generations.map((g) => g.question)).toEqual(['what is the weather like in paris']);
      const done = await arrival(h.events, 'done');
      const stored = await h.agent.call('conversations:messages', { id: done.conversationId });
      expect(stored.map((m) => m.text)).toEqual(['what is the weather like in paris', ANSWER.join('')]);
      expectOnlyStartedTurns(h.events);
    });

    it('speech after the pause drops it at once', async () => {
      const h = await start({ transcripts: ['what is the weather like in paris'] });
      await sayWithPause(h, 'what is the weather like', { resume: true });
      expect(h.voice.speculationCounts).toMatchObject({ started: 1, discarded: 1 });
      const timings = await arrival(h.events, 'voice-timings');
      expect(timings.waterfall.speculation).toBe('discarded');
    });

    it('is not done when switched off in the settings', async () => {
      const h = await start({ transcripts: ['what is the weather like today'] });
      await h.voice.configure({ speculativeTurns: false });
      await sayWithPause(h, 'what is the weather like today');
      const timings = await arrival(h.events, 'voice-timings');
      expect(timings.waterfall.speculation).toBe('none');
      expect(h.voice.speculationCounts.started).toBe(0);
    });

    it('a partial from before the pause starts nothing: recognition must have caught up with the speech', async () => {
      const h = await start({ transcripts: ['what is the weather like today'] });
      await sayWithPause(h, 'what is the', { heardAt: 10 });
      const timings = await arrival(h.events, 'voice-timings');
      expect(timings.waterfall.speculation).toBe('none');
    });
  });
});
