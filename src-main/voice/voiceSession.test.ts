import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { concatSamples } from '../../src-shared/audio/sampleArrays.js';
import { AgentError, type AgentEvent, type DoneEvent } from '../../src-shared/contract/index.js';
import { createAgent, type Agent } from '../app/createAgent.node.js';
import { TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';
import { SpeakingTurn } from './answerSpeaker.node.js';
import { encodeWav16 } from './audio/wavCodec.node.js';
import { FliteSpeechSynthesizer } from './tts/fliteSpeechSynthesizer.node.js';
import { findExecutable, SPHINX_BINARY } from './stt/sphinxTranscriber.node.js';
import { runVoiceFileTurn } from '../cli/voiceCommand.node.js';
import { rmsDbfs } from './vad/energyGate.js';
import { StreamingSentenceSplitter } from '../../src-shared/speech/sentenceSplitter.js';

const synthesizer = new FliteSpeechSynthesizer();
const sphinxInstalled = findExecutable(SPHINX_BINARY) !== undefined;
if (!sphinxInstalled) console.warn('Skipping the voice-session tests: PocketSphinx is not installed (apt-get install pocketsphinx pocketsphinx-en-us).');

/** A spoken question made with the built-in voice, with silence around it as a microphone would hear it. */
async function utterance(text: string): Promise<Int16Array> {
  const speech = await synthesizer.synthesize(text, { voice: 'awb' });
  expect(speech.sampleRate).toBe(16_000);
  return concatSamples(Int16Array, [new Int16Array(8000), speech.samples, new Int16Array(16000)]);
}

/** The first recorded event that matches, as soon as it has arrived. */
function arrival<E extends AgentEvent>(events: readonly E[], matches: (event: E) => boolean): Promise<E> {
  return vi.waitFor(
    () => {
      const found = events.find(matches);
      if (!found) throw new Error('The expected event has not arrived yet.');
      return found;
    },
    { timeout: 30_000, interval: 2 },
  );
}

describe('answer speaker stage (checked sentences → flite audio)', () => {
  /** The sentences of an answer, as the agent's answer stream sends them (`answer-sentence` events). */
  const sentencesOf = (answer: string) => {
    const splitter = new StreamingSentenceSplitter();
    return [...splitter.push(answer), ...splitter.flush()];
  };

  it('speaks the first sentence before the answer ends, in order, never reading markdown, code or emoji', async () => {
    const events: AgentEvent[] = [];
    const speaking = new SpeakingTurn('turn-1', synthesizer, { voice: 'flite:kal16', rate: 1 }, (e) => events.push(e));
    const answer = 'Sure! **Paris** is the capital of France 🇫🇷. See https://example.com for more.\n```js\nconsole.log(1)\n```\nIt is lovely in `spring`.';
    const sentences = sentencesOf(answer);
    speaking.sentence(0, sentences[0]!);
    await arrival(events, (e) => e.type === 'speech-audio');
    sentences.slice(1).forEach((sentence, i) => speaking.sentence(i + 1, sentence));
    await speaking.end();
    const spoken = events.filter((e) => e.type === 'speech-sentence').map((e) => (e as { text: string }).text);
    expect(spoken.join(' ')).toContain('Paris is the capital of France');
    for (const sentence of spoken) expect(sentence).not.toMatch(/[*`#]|http|console|\p{Extended_Pictographic}/u);
    const audio = events.filter((e) => e.type === 'speech-audio') as Array<{ seq: number; pcmBase64: string }>;
    expect(audio.map((a) => a.seq)).toEqual(spoken.map((_, i) => i));
    const pcm = Buffer.from(audio[0]!.pcmBase64, 'base64');
    expect(rmsDbfs(new Int16Array(pcm.buffer, pcm.byteOffset, pcm.byteLength / 2))).toBeGreaterThan(-40);
  });

  it('speaks sentences in index order, whatever order they arrive in', async () => {
    const events: AgentEvent[] = [];
    const speaking = new SpeakingTurn('turn-order', synthesizer, { voice: 'system:Samantha', rate: 1 }, (e) => events.push(e));
    speaking.sentence(1, 'Second.');
    expect(events).toHaveLength(0);
    speaking.sentence(0, 'First.');
    speaking.sentence(2, 'Third.');
    await speaking.end();
    expect(events.map((e) => (e as { text: string }).text)).toEqual(['First.', 'Second.', 'Third.']);
  });

  it('cancel drops everything not yet spoken', async () => {
    const events: AgentEvent[] = [];
    const speaking = new SpeakingTurn('turn-2', synthesizer, { voice: 'flite:kal16', rate: 1 }, (e) => events.push(e));
    ['One sentence here.', 'Two sentences here.', 'Three sentences here.'].forEach((sentence, i) => speaking.sentence(i, sentence));
    speaking.cancel();
    await speaking.end();
    expect(events.filter((e) => e.type === 'speech-audio')).toHaveLength(0);
  });

  it('a system voice gets sentences only: the renderer speaks them with speechSynthesis', async () => {
    const events: AgentEvent[] = [];
    const speaking = new SpeakingTurn('turn-3', synthesizer, { voice: 'system:Samantha', rate: 1 }, (e) => events.push(e));
    speaking.sentence(0, 'Hello there.');
    speaking.sentence(1, 'How are you?');
    await speaking.end();
    expect(events.map((e) => e.type)).toEqual(['speech-sentence', 'speech-sentence']);
  });
});

describe.skipIf(!sphinxInstalled)('voice turns end to end (Silero VAD + PocketSphinx + stories260K + flite, all real)', () => {
  let agent: Agent;
  beforeAll(async () => {
    agent = createAgent({
      config: {
        dataDir: tempDataDir(),
        maxAnswerTokens: 300,
        llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 },
        voice: { enabled: true, stt: 'sphinx' },
      },
    });
    await agent.whenReady();
    await agent.voice!.whenLoaded();
  });
  afterAll(() => agent.close());

  it('loads VAD, recogniser and voice at startup and reports them ready', async () => {
    const status = await agent.call('voice:status');
    expect(status.vad.state).toBe('ready');
    expect(status.stt).toMatchObject({ state: 'ready', engine: 'sphinx' });
    expect(status.tts.state).toBe('ready');
    expect(status.tts.voices).toContain('flite:slt');
  });

  it('a spoken question becomes a user turn, the answer streams and is spoken; the waterfall is measured', async () => {
    const turn = await runVoiceFileTurn(agent, await utterance('What is the weather like today'));
    expect(turn.transcript).toMatch(/weather/);
    expect(turn.done?.text.length).toBeGreaterThan(0);
    expect(turn.audio.length).toBeGreaterThan(0);
    expect(rmsDbfs(concatSamples(Int16Array, turn.audio))).toBeGreaterThan(-40);
    const w = turn.waterfall!;
    expect(w.firstTokenMs).toBeGreaterThanOrEqual(w.transcriptMs);
    expect(w.firstAudioMs).toBeGreaterThanOrEqual(w.firstSentenceMs!);
    const messages = await agent.call('conversations:messages', { id: turn.done!.conversationId });
    expect(messages[0]).toMatchObject({ role: 'user' });
    expect(messages[0]!.text).toMatch(/weather/);
  });

  it('a cached answer is spoken exactly like a generated one: every checked sentence is synthesized', async () => {
    const question = await utterance('How far away is the moon');
    const spoken = async () => {
      const events: AgentEvent[] = [];
      const turn = await runVoiceFileTurn(agent, question, (e) => events.push(e));
      const ofTurn = <T extends AgentEvent['type']>(type: T) =>
        events.filter((e): e is Extract<AgentEvent, { type: T }> => e.type === type && 'turnId' in e && e.turnId === turn.done?.turnId);
      return { turn, sentences: ofTurn('answer-sentence'), speech: ofTurn('speech-sentence'), audio: ofTurn('speech-audio') };
    };
    const first = await spoken();
    const second = await spoken();
    expect(first.turn.done).toMatchObject({ cached: false, interrupted: false });
    expect(second.turn.done).toMatchObject({ cached: true, interrupted: false });
    expect(second.turn.done!.text).toBe(first.turn.done!.text);
    expect(second.sentences.map((e) => e.text)).toEqual(first.sentences.map((e) => e.text));
    expect(second.speech.length).toBeGreaterThan(0);
    expect(second.speech.map((e) => e.text)).toEqual(first.speech.map((e) => e.text));
    expect(second.audio.map((e) => e.seq)).toEqual(second.speech.map((e) => e.seq));
    expect(second.turn.waterfall?.firstAudioMs).not.toBeNull();
  });

  it('hands-free: a second question spoken while the first is still being transcribed is not lost; both are answered in order', async () => {
    await agent.call('voice:configure', { mode: 'hands-free', conversationId: null });
    const events: AgentEvent[] = [];
    const stop = agent.listen((e) => events.push(e));
    const voice = agent.voice!;
    // Fed faster than real time, so the second question arrives while PocketSphinx is busy with the first.
    const audio = concatSamples(Int16Array, [await utterance('What is the weather like today'), await utterance('Set a timer for ten minutes')]);
    for (let i = 0; i < audio.length; i += 320) await voice.pushFrame(audio.subarray(i, i + 320));
    await voice.endOfInput();
    await vi.waitFor(() => expect(events.filter((e) => e.type === 'done')).toHaveLength(2), { timeout: 30_000, interval: 20 });
    stop();
    const questions = events.filter((e) => e.type === 'turn-started').map((e) => (e as { question: string }).question);
    expect(questions).toHaveLength(2);
    expect(questions[0]).toMatch(/weather/);
    expect(questions[1]).toMatch(/timer|minutes/);
  });

  it('silence, 0.1 s of sound and pure noise start no turn and transcribe nothing', async () => {
    const before = (await agent.call('conversations:list')).length;
    const blip = new Int16Array(1600).map((_, i) => Math.round(8000 * Math.sin(i / 5)));
    const noise = new Int16Array(16000 * 2).map(() => Math.round((Math.random() - 0.5) * 6000));
    for (const audio of [new Int16Array(16000), concatSamples(Int16Array, [new Int16Array(8000), blip, new Int16Array(8000)]), noise]) {
      const events: AgentEvent[] = [];
      const stop = agent.listen((e) => events.push(e));
      const voice = agent.voice!;
      for (let i = 0; i < audio.length; i += 320) await voice.pushFrame(audio.subarray(i, i + 320));
      for (let i = 0; i < 50; i++) await voice.pushFrame(new Int16Array(320));
      await voice.endOfInput();
      stop();
      expect(events.filter((e) => e.type === 'turn-started')).toHaveLength(0);
      expect(events.filter((e) => e.type === 'transcript' && e.text !== '')).toHaveLength(0);
    }
    expect((await agent.call('conversations:list')).length).toBe(before);
  });

  it('barge-in: push-to-talk while the assistant speaks stops speech and generation within 150 ms; the answer is kept as interrupted', async () => {
    await agent.call('voice:configure', { mode: 'push-to-talk', conversationId: null });
    const question = await utterance('Tell me a long story about a dragon');
    const events: Array<AgentEvent & { at: number }> = [];
    const stop = agent.listen((e) => events.push({ ...e, at: performance.now() }));
    const voice = agent.voice!;
    await agent.call('voice:ptt', { pressed: true });
    for (let i = 0; i < question.length; i += 320) await voice.pushFrame(question.subarray(i, i + 320));
    await agent.call('voice:ptt', { pressed: false });
    // Wait until the answer is being spoken.
    await arrival(events, (e) => e.type === 'speech-audio');
    const turnId = (events.find((e) => e.type === 'turn-started') as { turnId: string }).turnId;
    const bargedAt = performance.now();
    await agent.call('voice:ptt', { pressed: true });
    const speechStop = events.find((e) => e.type === 'speech-stop' && e.at >= bargedAt);
    expect(speechStop).toMatchObject({ turnId, reason: 'barge-in' });
    expect(speechStop!.at - bargedAt).toBeLessThan(150);
    const done = await arrival(events, (e) => e.type === 'done' && e.turnId === turnId);
    expect(done).toMatchObject({ interrupted: true });
    expect(done.at - bargedAt).toBeLessThan(150);
    const audioAfterStop = events.filter((e) => e.type === 'speech-audio' && e.at > speechStop!.at);
    expect(audioAfterStop).toHaveLength(0);
    await agent.call('voice:ptt', { pressed: false });
    stop();
    const conversation = (done as { conversationId: string }).conversationId;
    const messages = await agent.call('conversations:messages', { id: conversation });
    expect(messages.at(-1)).toMatchObject({ role: 'assistant', status: 'interrupted' });
  });
  it('barge-in after the text is complete, while it is still being spoken, marks the answer interrupted', async () => {
    await agent.call('voice:configure', { mode: 'push-to-talk', conversationId: null });
    const question = await utterance('Tell me a story about a cat');
    const events: AgentEvent[] = [];
    const stop = agent.listen((e) => events.push(e));
    const voice = agent.voice!;
    await agent.call('voice:ptt', { pressed: true });
    for (let i = 0; i < question.length; i += 320) await voice.pushFrame(question.subarray(i, i + 320));
    await agent.call('voice:ptt', { pressed: false });
    await arrival(events, (e) => e.type === 'speech-audio');
    const done = (await arrival(events, (e) => e.type === 'done')) as { turnId: string; conversationId: string; interrupted: boolean };
    expect(done.interrupted).toBe(false);
    expect((await agent.call('voice:status')).state).toBe('speaking');
    await agent.call('voice:ptt', { pressed: true });
    expect(events.find((e) => e.type === 'speech-stop')).toMatchObject({ turnId: done.turnId, reason: 'barge-in' });
    await agent.call('voice:ptt', { pressed: false });
    stop();
    const messages = await agent.call('conversations:messages', { id: done.conversationId });
    expect(messages.at(-1)).toMatchObject({ role: 'assistant', status: 'interrupted' });
  });
});

describe.skipIf(!sphinxInstalled)('interim transcripts (PocketSphinx asked for partials every 300 ms)', () => {
  it('partial and final transcripts of one utterance, and its timings, carry the same utterance id', async () => {
    const agent = createAgent({
      config: {
        dataDir: tempDataDir(),
        llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 },
        voice: { enabled: true, stt: 'sphinx', partialTranscriptMs: 300 },
      },
    });
    try {
      await agent.whenReady();
      await agent.voice!.whenLoaded();
      await agent.call('voice:configure', { mode: 'push-to-talk', conversationId: null });
      const question = await utterance('What is the weather like today');
      const events: AgentEvent[] = [];
      agent.listen((e) => events.push(e));
      await agent.call('voice:ptt', { pressed: true });
      for (let i = 0; i < question.length; i += 320) await agent.voice!.pushFrame(question.subarray(i, i + 320));
      const partial = await arrival(events, (e) => e.type === 'transcript' && !e.final && e.text !== '');
      await agent.call('voice:ptt', { pressed: false });
      const final = await arrival(events, (e) => e.type === 'transcript' && e.final);
      const timings = await arrival(events, (e) => e.type === 'voice-timings');
      expect(final).toMatchObject({ utteranceId: (partial as { utteranceId: string }).utteranceId, text: expect.stringMatching(/weather/) });
      expect(timings).toMatchObject({ utteranceId: (partial as { utteranceId: string }).utteranceId });
    } finally {
      await agent.close();
    }
  });
});

describe('assistant voice with bad input', () => {
  it('a speech-to-text model that cannot load: the app still starts, text chat works, and voice says what is missing', async () => {
    const agent = createAgent({
      config: {
        dataDir: tempDataDir(),
        llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 },
        voice: { enabled: true, stt: 'whisper', whisperModel: path.join(tempDataDir(), 'missing-ggml-base.en.bin') },
      },
    });
    const events: AgentEvent[] = [];
    agent.listen((e) => events.push(e));
    await agent.whenReady();
    await agent.voice!.whenLoaded();
    const status = await agent.call('voice:status');
    expect(status.stt.state).toBe('missing');
    expect(status.stt.message).toContain('missing-ggml-base.en.bin');
    // The user is told once that voice is limited to text, and why.
    await agent.call('voice:configure', { rate: 1.2 });
    expect(events.filter((e) => e.type === 'notice')).toEqual([
      {
        type: 'notice',
        level: 'warning',
        message: expect.stringMatching(/^Voice is limited to text: speech recognition is unavailable \(.*missing-ggml-base\.en\.bin.*\), so type your questions\.$/),
      },
    ]);
    try {
      const started = await agent.call('chat:send', { text: 'Once upon a time' });
      const done = await arrival(events, (e) => (e.type === 'done' || e.type === 'error') && e.turnId === started.turnId);
      expect(done).toMatchObject({ type: 'done', turnId: started.turnId, interrupted: false });
      expect((done as DoneEvent).text.length).toBeGreaterThan(0);
    } finally {
      await agent.close();
    }
  });

  it('a corrupt or non-WAV file gives BAD_AUDIO and exit code 1', async () => {
    const { runVoiceCommand } = await import('../cli/voiceCommand.node.js');
    const file = path.join(tempDataDir(), 'not-audio.wav');
    writeFileSync(file, 'this is a text file, not a RIFF/WAVE file');
    let out = '';
    const code = await runVoiceCommand([file, '--json'], { stdout: { write: (t: string) => (out += t) }, stderr: { write: () => true } });
    expect(code).toBe(1);
    expect(JSON.parse(out.trim())).toMatchObject({ type: 'error', code: 'BAD_AUDIO' });
  });
});

describe('choosing a voice', () => {
  let agent: Agent;
  beforeAll(async () => {
    agent = createAgent({
      config: { dataDir: tempDataDir(), llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 }, voice: { enabled: true, stt: 'sphinx' } },
    });
    await agent.voice!.whenLoaded();
  });
  afterAll(() => agent.close());

  it('voice:configure rejects a voice that does not exist, naming it and the voices there are, and saves nothing', async () => {
    const status = await agent.call('voice:status');
    expect(status.tts.voices).toContain('flite:slt');
    const unknown = [
      'flite:../../etc/passwd',
      'flite:nobody',
      'flite:SLT',
      'flite: slt',
      'flite:',
      'system:',
      'system:   ',
      'system:Samantha\u0007',
      'system:\u001b[2JSamantha',
      'system:Sam\nantha',
      `system:${'x'.repeat(300)}`,
      'slt',
      'espeak:en',
      '../../etc/passwd',
    ];
    for (const voice of unknown) {
      const error = await agent.call('voice:configure', { voice }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, JSON.stringify(voice)).toBeInstanceOf(AgentError);
      expect((error as AgentError).code, JSON.stringify(voice)).toBe('INVALID_MESSAGE');
      expect((error as AgentError).message).not.toMatch(/\p{Cc}/u);
    }
    const error = (await agent.call('voice:configure', { voice: 'flite:../../etc/passwd' }).catch((e: unknown) => e)) as AgentError;
    expect(error.message).toContain('"flite:../../etc/passwd"');
    for (const voice of status.tts.voices) expect(error.message).toContain(voice);
    expect(error.message).toContain('system:');
    // Nothing was saved, not even the other settings of a rejected call.
    await agent.call('voice:configure', { voice: 'flite:nobody', rate: 1.5 }).catch(() => undefined);
    expect((await agent.call('voice:status')).settings).toEqual(status.settings);
  });

  it('voice:configure accepts every built-in voice and a well-formed system voice', async () => {
    for (const voice of (await agent.call('voice:status')).tts.voices) {
      expect((await agent.call('voice:configure', { voice })).voice).toBe(voice);
    }
    for (const voice of ['system:Samantha', 'system:Microsoft Aria Online (Natural) - English (United States)', 'system:Google 日本語']) {
      expect((await agent.call('voice:configure', { voice })).voice).toBe(voice);
    }
    await agent.call('voice:configure', { voice: 'flite:slt' });
  });

  it('assistant voice --voice with an unknown voice is a usage error that names the voices, before any turn', async () => {
    const { runVoiceCommand } = await import('../cli/voiceCommand.node.js');
    const dir = tempDataDir();
    const file = path.join(dir, 'silence.wav');
    writeFileSync(file, encodeWav16(new Int16Array(16_000), 16_000));
    let out = '';
    const io = { stdout: { write: (t: string) => (out += t) }, stderr: { write: () => true } };
    const code = await runVoiceCommand([file, '--json', '--voice', 'flite:../../etc/passwd', '--stt', 'sphinx', '--model', TEST_LLM_MODEL, '--data-dir', dir], io);
    expect(code).toBe(2);
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(1);
    const event = JSON.parse(lines[0]!);
    expect(event).toMatchObject({ type: 'error', code: 'INVALID_MESSAGE' });
    expect(event.message).toContain('"flite:../../etc/passwd"');
    expect(event.message).toContain('flite:slt');
  });
});

const projectRoot = path.resolve(import.meta.dirname, '../..');
const cliBuilt = existsSync(path.join(projectRoot, 'build/src-main/cli/assistantCli.node.js'));

/** Runs the built CLI; kills it and fails if it has not exited within `deadlineMs`. */
function runCli(args: string[], deadlineMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(projectRoot, 'bin/assistant.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`assistant ${args.join(' ')} hung: no exit within ${deadlineMs} ms (stdout: ${stdout}, stderr: ${stderr})`));
    }, deadlineMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(!sphinxInstalled || !cliBuilt)('assistant voice <file.wav> with no speech in it (the built CLI, spawned)', () => {
  const dir = tempDataDir('assistant-no-speech-');
  const seconds = (s: number) => Math.round(s * 16_000);
  const files = {
    silence: new Int16Array(seconds(2)),
    // White noise at 0.3 of full scale, as `sox -n out.wav synth 2 whitenoise vol 0.3` makes.
    noise: new Int16Array(seconds(2)).map(() => Math.round((Math.random() * 2 - 1) * 0.3 * 32767)),
    // A 100 ms burst (a click or knock) with half a second of silence either side.
    burst: concatSamples(Int16Array, [
      new Int16Array(seconds(0.5)),
      new Int16Array(seconds(0.1)).map((_, i) => Math.round(16000 * Math.sin((2 * Math.PI * 440 * i) / 16_000))),
      new Int16Array(seconds(0.5)),
    ]),
  };
  const voiceArgs = (file: string, ...rest: string[]) => ['voice', file, ...rest, '--stt', 'sphinx', '--model', TEST_LLM_MODEL, '--data-dir', dir];

  for (const [name, samples] of Object.entries(files)) {
    it(`${name}: exits 1 at once with NO_SPEECH (--json), never hangs`, async () => {
      const file = path.join(dir, `${name}.wav`);
      writeFileSync(file, encodeWav16(samples, 16_000));
      const run = await runCli(voiceArgs(file, '--json'));
      expect(run.code, run.stderr).toBe(1);
      const lines = run.stdout.trim().split('\n');
      const event = JSON.parse(lines.at(-1)!);
      expect(event).toMatchObject({ type: 'error', code: 'NO_SPEECH', message: expect.stringContaining(`No speech was heard in ${file}`) });
      expect(lines.map((line) => JSON.parse(line).type)).not.toContain('done');
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }, 70_000);
  }

  it('without --json: a clear line on stderr, exit 1', async () => {
    const file = path.join(dir, 'silence-plain.wav');
    writeFileSync(file, encodeWav16(files.silence, 16_000));
    const run = await runCli(voiceArgs(file));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`Error (NO_SPEECH): No speech was heard in ${file}`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }, 70_000);
});
