import { writeFile } from 'node:fs/promises';
import { concatSamples } from '../../src-shared/audio/sampleArrays.js';
import { MIC_SAMPLE_RATE, toErrorShape, type AgentEvent, type DoneEvent, type VoiceWaterfall } from '../../src-shared/contract/index.js';
import type { AgentConfigOverrides } from '../agent/agentConfig.node.js';
import { settingFlagOptions } from '../agent/agentSettings.node.js';
import { AGENT_FLAG_SETTINGS, agentConfigFromFlags, agentOptionSpec } from './chatCommand.node.js';
import { parseCommandLine } from './commandLine.node.js';
import { jsonLine, writeSettingError, writeUsageError, type CommandIo } from './commandIo.js';
import { createAgent, type Agent } from '../app/createAgent.node.js';
import { encodeWav16 } from '../voice/audio/wavCodec.node.js';
import { readWavFile } from '../voice/audio/wavReader.node.js';

const USAGE = `Usage: assistant voice <file.wav> [--json] [-o answer.wav] [--stt auto|whisper|sphinx] [--voice flite:<name>]
                       [agent options as for "assistant chat"]

Runs one whole voice turn from a WAV file: VAD, transcript, streamed answer, spoken answer.
The done event carries timings.firstAudioMs: from the end of speech to the first synthesized audio.
`;

/** 20 ms frames, as a renderer's AudioWorklet would send them. */
const FRAME_SAMPLES = 320;
const FRAME_MS = (FRAME_SAMPLES * 1000) / MIC_SAMPLE_RATE;

export interface VoiceFileTurn {
  transcript: string;
  done?: DoneEvent;
  waterfall?: VoiceWaterfall;
  audio: Int16Array[];
  audioSampleRate: number;
  errors: Array<{ code: string; message: string }>;
  /** A guard refused the question (its reason was spoken). */
  blocked?: Extract<AgentEvent, { type: 'blocked' }>;
  /**
   * Why no turn was answered although nothing failed: 'no-speech' when the VAD heard no utterance in the input
   * (silence, noise, a click), 'no-words' when it did but the recogniser heard no words in it.
   */
  nothingHeard?: 'no-speech' | 'no-words';
  /** The safety-net deadline passed before the turn finished (a bug: every path should end the turn). */
  timedOut?: boolean;
}

export interface VoiceFileTurnOptions {
  /** Safety net: give up after this long. Default: 10 minutes, or 5 times the audio's duration if longer. */
  deadlineMs?: number;
  /**
   * Frames at the pace a microphone delivers them (20 ms each), as a user speaks: recognition runs while the audio
   * arrives, as it does live. Default: as fast as they can be processed.
   */
  realTime?: boolean;
}

const DEFAULT_TURN_DEADLINE_MS = 10 * 60_000;

/**
 * Feeds a file through an agent's voice session as fast as it can be processed, then 1 s of silence so the
 * VAD sees the end of speech, and waits until the answer has been spoken. When the file holds no speech the
 * turn ends at once with `nothingHeard` set; it never waits forever.
 */
export async function runVoiceFileTurn(
  agent: Agent,
  samples: Int16Array,
  onEvent: (event: AgentEvent) => void = () => undefined,
  options: VoiceFileTurnOptions = {},
): Promise<VoiceFileTurn> {
  const voice = agent.voice;
  if (!voice) throw new Error('voice is disabled');
  await voice.whenLoaded();
  const status = voice.getStatus();
  if (status.stt.state !== 'ready') throw new Error(`Speech recognition is not available: ${status.stt.message ?? status.stt.state}`);
  if (status.vad.state !== 'ready') throw new Error(`Voice activity detection is not available: ${status.vad.message ?? status.vad.state}`);
  await voice.configure({ mode: 'hands-free', conversationId: null });

  const result: VoiceFileTurn = { transcript: '', audio: [], audioSampleRate: 16_000, errors: [] };
  let turnId: string | undefined;
  /** Final transcripts with words, each of which starts a turn (or fails with an error event). */
  let questions = 0;
  let turnsStarted = 0;
  let inputEnded = false;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  /** The latest turn was interrupted (a later utterance barged in), and no question is left to answer. */
  const interruptedAndNothingPending = () => inputEnded && result.done?.interrupted === true && questions === turnsStarted;
  const stop = agent.listen((event) => {
    onEvent(event);
    if (event.type === 'transcript' && event.final) {
      // The transcript of the question being answered: a later wordless utterance does not replace it.
      if (event.text !== '' || questions === 0) result.transcript = event.text;
      if (event.text !== '') questions++;
    } else if (event.type === 'turn-started') {
      turnId = event.turnId;
      turnsStarted++;
    } else if (event.type === 'done' && event.turnId === turnId) {
      result.done = event;
      // An interrupted answer is not spoken further: no voice-timings follow for it.
      if (interruptedAndNothingPending()) finish();
    } else if (event.type === 'speech-audio' && event.turnId === turnId) {
      result.audioSampleRate = event.sampleRate;
      const bytes = Buffer.from(event.pcmBase64, 'base64');
      result.audio.push(new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2));
    } else if (event.type === 'voice-timings' && event.turnId === turnId) {
      result.waterfall = event.waterfall;
      finish();
    } else if (event.type === 'error') {
      result.errors.push({ code: event.code, message: event.message });
      if (!turnId || event.turnId === turnId) finish();
    } else if (event.type === 'blocked' && event.turnId === turnId) {
      result.blocked = event;
    }
  });
  const startedAt = performance.now();
  let framesPushed = 0;
  const pushFrame = async (frame: Int16Array): Promise<void> => {
    if (options.realTime) {
      // On a fixed schedule from the start, so a slow frame does not push the rest later.
      const due = startedAt + framesPushed * FRAME_MS - performance.now();
      if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
    }
    framesPushed++;
    await voice.pushFrame(frame);
  };
  const run = async (): Promise<void> => {
    for (let offset = 0; offset < samples.length; offset += FRAME_SAMPLES) {
      await pushFrame(samples.subarray(offset, offset + FRAME_SAMPLES));
    }
    const silence = new Int16Array(FRAME_SAMPLES);
    for (let i = 0; i < 50; i++) await pushFrame(silence);
    // Resolves after every utterance heard has its final transcript (or error) and its chat turn started, so
    // what is known now decides whether an answer is still coming.
    const { utterances } = await voice.endOfInput();
    inputEnded = true;
    if (result.errors.length === 0 && questions === 0) {
      result.nothingHeard = utterances === 0 ? 'no-speech' : 'no-words';
      return;
    }
    if (interruptedAndNothingPending()) finish();
    await finished;
  };
  // The safety net: every path above ends the turn, but a bug must not leave the CLI waiting forever.
  let deadline: NodeJS.Timeout | undefined;
  const deadlinePassed = new Promise<void>((resolve) => {
    const audioMs = (samples.length * 1000) / MIC_SAMPLE_RATE;
    deadline = setTimeout(() => {
      result.timedOut = true;
      voice.interrupt();
      resolve();
    }, options.deadlineMs ?? Math.max(DEFAULT_TURN_DEADLINE_MS, 5 * audioMs));
  });
  try {
    await Promise.race([run(), deadlinePassed]);
    return result;
  } finally {
    clearTimeout(deadline);
    stop();
  }
}

export async function runVoiceCommand(args: string[], io: CommandIo): Promise<number> {
  const parsed = parseCommandLine(
    args,
    {
      ...agentOptionSpec,
      ...settingFlagOptions(['stt']),
      json: { type: 'boolean' },
      output: { type: 'string', short: 'o' },
      voice: { type: 'string' },
    },
    USAGE,
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const file = positionals[0];
  if (!file || positionals.length > 1) return writeUsageError(io, args, 'voice needs exactly one WAV file.', USAGE);
  let config: AgentConfigOverrides;
  try {
    const fromFlags = agentConfigFromFlags(values, [...AGENT_FLAG_SETTINGS, 'stt']);
    config = { ...fromFlags, voice: { ...fromFlags.voice, enabled: true } };
  } catch (error) {
    return writeSettingError(io, args, error);
  }
  const json = values.json === true;
  const fail = (code: string, message: string) => {
    if (json) io.stdout.write(jsonLine({ type: 'error', code, message }));
    else io.stderr.write(`Error (${code}): ${message}\n`);
    return 1;
  };

  let samples: Int16Array;
  try {
    samples = (await readWavFile(file)).samples;
  } catch (error) {
    const shape = toErrorShape(error);
    return fail(shape.code, shape.message);
  }

  let agent: Agent;
  try {
    agent = createAgent({ config });
  } catch (error) {
    // An unusable data folder or a damaged database: one clear line, exit 1.
    const shape = toErrorShape(error);
    return fail(shape.code, shape.message);
  }
  try {
    if (values.voice !== undefined) {
      try {
        await agent.call('voice:configure', { voice: values.voice });
      } catch (error) {
        const shape = toErrorShape(error);
        fail(shape.code, `--voice: ${shape.message}`);
        return 2;
      }
    }
    const turn = await runVoiceFileTurn(agent, samples, (event) => {
      if (json && ['transcript', 'token', 'speech-sentence', 'notice', 'error', 'voice-timings'].includes(event.type)) {
        io.stdout.write(jsonLine(event));
      } else if (!json && event.type === 'transcript' && event.final) io.stderr.write(`You said: ${event.text || '(nothing)'}\n`);
      else if (!json && event.type === 'token') io.stdout.write(event.text);
    });
    if (turn.nothingHeard === 'no-speech') {
      return fail('NO_SPEECH', `No speech was heard in ${file}: it holds only silence, noise or sounds too short to be words. Record someone speaking.`);
    }
    if (turn.nothingHeard === 'no-words') {
      return fail('NO_SPEECH', `No speech was heard in ${file}: the speech recogniser found no words in the sound it holds. Record someone speaking clearly.`);
    }
    if (turn.timedOut) return fail('INTERNAL', `The voice turn for ${file} did not finish in time; it was stopped.`);
    if (!turn.done) {
      const problem = turn.errors[0];
      if (problem) return json ? 1 : fail(problem.code, problem.message);
      return fail('INTERNAL', 'The voice turn did not finish.');
    }
    const waterfall = turn.waterfall;
    const done = {
      ...turn.done,
      transcript: turn.transcript,
      timings: {
        ...turn.done.timings,
        sttMs: waterfall?.transcriptMs,
        firstTokenMs: waterfall?.firstTokenMs ?? null,
        firstSentenceMs: waterfall?.firstSentenceMs ?? null,
        firstAudioMs: waterfall?.firstAudioMs ?? null,
      },
    };
    if (values.output) {
      await writeFile(values.output, encodeWav16(concatSamples(Int16Array, turn.audio), turn.audioSampleRate));
    }
    if (json) io.stdout.write(jsonLine(done));
    else {
      io.stdout.write('\n');
      io.stderr.write(
        `end of speech → transcript ${waterfall?.transcriptMs ?? '-'} ms → first token ${waterfall?.firstTokenMs ?? '-'} ms → first audio ${waterfall?.firstAudioMs ?? '-'} ms\n`,
      );
      if (values.output) io.stderr.write(`Spoken answer written to ${values.output}\n`);
    }
    return 0;
  } catch (error) {
    const shape = toErrorShape(error);
    return fail(shape.code === 'INTERNAL' ? 'STT_UNAVAILABLE' : shape.code, shape.message);
  } finally {
    await agent.close();
  }
}
