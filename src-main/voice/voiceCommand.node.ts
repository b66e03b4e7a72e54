import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { concatSamples } from '../../src-shared/audio/sampleArrays.js';
import { toErrorShape, type AgentEvent, type DoneEvent, type VoiceWaterfall } from '../../src-shared/contract/index.js';
import { agentConfigFromFlags, agentOptionSpec } from '../cli/chatCommand.node.js';
import { jsonLine, type CommandIo } from '../cli/commandIo.js';
import { createAgent, type Agent } from '../agent/createAgent.node.js';
import { encodeWav16 } from './audio/wavCodec.node.js';
import { readWavFile } from './audio/wavReader.node.js';

const USAGE = `Usage: assistant voice <file.wav> [--json] [-o answer.wav] [--stt auto|whisper|sphinx] [--voice flite:<name>]
                       [agent options as for "assistant chat"]

Runs one whole voice turn from a WAV file: VAD, transcript, streamed answer, spoken answer.
The done event carries timings.firstAudioMs: from the end of speech to the first synthesized audio.
`;

/** 20 ms frames, as a renderer's AudioWorklet would send them. */
const FRAME_SAMPLES = 320;

export interface VoiceFileTurn {
  transcript: string;
  done?: DoneEvent;
  waterfall?: VoiceWaterfall;
  audio: Int16Array[];
  audioSampleRate: number;
  errors: Array<{ code: string; message: string }>;
}

/**
 * Feeds a file through an agent's voice session as fast as it can be processed, then 1 s of silence so the
 * VAD sees the end of speech, and waits until the answer has been spoken.
 */
export async function runVoiceFileTurn(agent: Agent, samples: Int16Array, onEvent: (event: AgentEvent) => void = () => undefined): Promise<VoiceFileTurn> {
  const voice = agent.voice;
  if (!voice) throw new Error('voice is disabled');
  await voice.whenLoaded();
  const status = voice.getStatus();
  if (status.stt.state !== 'ready') throw new Error(`Speech recognition is not available: ${status.stt.message ?? status.stt.state}`);
  if (status.vad.state !== 'ready') throw new Error(`Voice activity detection is not available: ${status.vad.message ?? status.vad.state}`);
  await voice.configure({ mode: 'hands-free', conversationId: null });

  const result: VoiceFileTurn = { transcript: '', audio: [], audioSampleRate: 16_000, errors: [] };
  let turnId: string | undefined;
  const finished = new Promise<void>((resolve) => {
    const stop = agent.listen((event) => {
      onEvent(event);
      if (event.type === 'transcript' && event.final) {
        result.transcript = event.text;
        if (event.text === '') {
          stop();
          resolve();
        }
      } else if (event.type === 'turn-started') turnId = event.turnId;
      else if (event.type === 'done' && event.turnId === turnId) result.done = event;
      else if (event.type === 'speech-audio' && event.turnId === turnId) {
        result.audioSampleRate = event.sampleRate;
        const bytes = Buffer.from(event.pcmBase64, 'base64');
        result.audio.push(new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2));
      } else if (event.type === 'voice-timings' && event.turnId === turnId) {
        result.waterfall = event.waterfall;
        stop();
        resolve();
      } else if (event.type === 'error') {
        result.errors.push({ code: event.code, message: event.message });
        if (!turnId || event.turnId === turnId) {
          stop();
          resolve();
        }
      }
    });
  });
  for (let offset = 0; offset < samples.length; offset += FRAME_SAMPLES) {
    await voice.pushFrame(samples.subarray(offset, offset + FRAME_SAMPLES));
  }
  const silence = new Int16Array(FRAME_SAMPLES);
  for (let i = 0; i < 50; i++) await voice.pushFrame(silence);
  await voice.endOfInput();
  await finished;
  return result;
}

export async function runVoiceCommand(args: string[], io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        ...agentOptionSpec,
        json: { type: 'boolean' },
        output: { type: 'string', short: 'o' },
        stt: { type: 'string' },
        voice: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const file = positionals[0];
  if (!file || positionals.length > 1) {
    io.stderr.write(USAGE);
    return 2;
  }
  const stt = values.stt ?? 'auto';
  if (!['auto', 'whisper', 'sphinx'].includes(stt)) {
    io.stderr.write(`--stt must be auto, whisper or sphinx, got "${stt}"\n`);
    return 2;
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

  const agent = createAgent({
    config: { ...agentConfigFromFlags(values), voice: { enabled: true, stt: stt as 'auto' | 'whisper' | 'sphinx' } },
  });
  try {
    if (values.voice) await agent.call('voice:configure', { voice: values.voice });
    const turn = await runVoiceFileTurn(agent, samples, (event) => {
      if (json && ['transcript', 'token', 'speech-sentence', 'notice', 'error', 'voice-timings'].includes(event.type)) {
        io.stdout.write(jsonLine(event));
      } else if (!json && event.type === 'transcript' && event.final) io.stderr.write(`You said: ${event.text || '(nothing)'}\n`);
      else if (!json && event.type === 'token') io.stdout.write(event.text);
    });
    if (!turn.done) {
      const problem = turn.errors[0];
      if (problem) return json ? 1 : fail(problem.code, problem.message);
      return fail('BAD_AUDIO', turn.transcript === '' ? 'No speech was heard in the file.' : 'The voice turn did not finish.');
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
