import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../app/createAgent.node.js';
import { ScriptedLlm } from '../testing/scriptedLlm.js';
import { arrival, ofType, startScriptedVoiceAgent } from '../testing/scriptedVoiceAgent.js';
import { FRAME_SAMPLES } from '../testing/scriptedVoiceEngines.js';

/*
 * A voice turn whose first sentence is long, through the real agent and voice session with scripted engines: the
 * model stops after the first clause until the test lets it go on, so whether the voice started early is plain.
 */

const CLAUSE = 'The weather today is sunny with a light breeze from the west,';
const ANSWER = `${CLAUSE} and tomorrow it will rain for most of the afternoon. Take a coat.`;
/** Word by word, as a model streams it. */
const CHUNKS = ANSWER.split(/(?<=\s)/u);
/** The clause's chunks and the next word's space after its comma: the clause is complete. */
const CLAUSE_CHUNKS = `${CLAUSE} `.split(/(?<=\s)/u).length;

let running: Agent | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('a long first sentence in a voice turn', () => {
  it('is heard from its first clause before it is complete; what is shown and stored is unchanged; first audio is timed then', async () => {
    const llm = new ScriptedLlm(CHUNKS, CLAUSE_CHUNKS);
    const { agent, voice, engines, events } = await startScriptedVoiceAgent({ transcripts: ['what is the weather'], llm, voice: 'flite:slt' });
    running = agent;

    llm.paused.close();
    const frames = engines.vad.utterance({ frames: 10 });
    for (let i = 0; i < frames; i++) await voice.pushFrame(new Int16Array(FRAME_SAMPLES).fill(1000));

    // The model is waiting after the clause: the first sentence is not complete, yet its first clause is heard.
    const firstAudio = await arrival(events, 'speech-audio');
    expect(firstAudio.seq).toBe(0);
    expect(ofType(events, 'answer-sentence')).toEqual([]);
    expect(engines.synthesizer.spoken).toEqual([CLAUSE]);

    llm.paused.open();
    const done = await arrival(events, 'done');
    const timings = await arrival(events, 'voice-timings');
    expect(engines.synthesizer.spoken).toEqual([CLAUSE, 'and tomorrow it will rain for most of the afternoon.', 'Take a coat.']);
    // Shown and stored exactly as generated.
    expect(ofType(events, 'token').map((e) => e.text).join('')).toBe(ANSWER);
    expect(ofType(events, 'answer-sentence').map((e) => e.text)).toEqual([`${CLAUSE} and tomorrow it will rain for most of the afternoon.`, 'Take a coat.']);
    expect(done.text).toBe(ANSWER);
    const stored = (await agent.call('conversations:messages', { id: done.conversationId })).at(-1);
    expect(stored).toMatchObject({ role: 'assistant', text: ANSWER });
    // First audio is the clause's, before the first sentence was complete.
    const { firstAudioMs, firstSentenceMs } = timings.waterfall;
    expect(firstAudioMs).not.toBeNull();
    expect(firstSentenceMs).not.toBeNull();
    expect(firstAudioMs!).toBeLessThan(firstSentenceMs!);
  });
});
