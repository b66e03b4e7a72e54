import { parseArgs } from 'node:util';
import { toErrorShape } from '../../src-shared/contract/index.js';
import { jsonLine, type CommandIo } from './commandIo.js';
import { readWavFile } from '../voice/audio/wavReader.node.js';
import { transcribeWhole, type SpeechTranscriber } from '../voice/stt/speechTranscriber.js';
import { createSpeechTranscriber, type SttChoice } from '../voice/stt/speechTranscriberFactory.node.js';

const USAGE = `Usage: assistant transcribe <file.wav> [options]

Prints what is said in a WAV file (any sample rate or channel count; it is converted to 16 kHz mono).

Options:
  --stt <engine>       whisper, sphinx or auto (default: auto = Whisper if its model is present, else PocketSphinx).
  --threads <n>        Whisper decoding threads.
  --json               Print one JSON line: {"type":"transcript","text":...,"timings":{"sttMs","loadMs","audioMs"}}.
  -h, --help           Show this help.
`;

const STT_CHOICES: readonly SttChoice[] = ['whisper', 'sphinx', 'auto'];

/** `assistant transcribe ...`: returns the exit code (0 ok, 1 failed, 2 bad usage). */
export async function runTranscribeCommand(args: string[], io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { stt: { type: 'string', default: 'auto' }, threads: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    return usageError(io, (error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const engine = values.stt as SttChoice;
  if (!STT_CHOICES.includes(engine)) return usageError(io, `--stt must be one of ${STT_CHOICES.join(', ')}, got "${values.stt}".`);
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads > 0)) return usageError(io, `--threads must be a positive whole number, got "${values.threads}".`);
  if (positionals.length !== 1) return usageError(io, 'transcribe needs exactly one WAV file, e.g. assistant transcribe question.wav');

  let transcriber: SpeechTranscriber;
  try {
    transcriber = createSpeechTranscriber({ engine, ...(threads !== undefined && { threads }) });
  } catch (error) {
    return failure(io, values.json, error);
  }
  try {
    const audio = await readWavFile(positionals[0]!);
    const loadStart = performance.now();
    await transcriber.load();
    const loadMs = performance.now() - loadStart;
    const sttStart = performance.now();
    const transcript = await transcribeWhole(transcriber, audio.samples);
    const sttMs = performance.now() - sttStart;
    if (values.json) {
      io.stdout.write(
        jsonLine({
          type: 'transcript',
          text: transcript.text,
          noSpeech: transcript.noSpeech,
          engine: transcriber.engine,
          timings: { sttMs: Math.round(sttMs), loadMs: Math.round(loadMs), audioMs: Math.round(audio.durationMs) },
        }),
      );
    } else if (transcript.noSpeech) {
      io.stderr.write('(no speech heard)\n');
    } else {
      io.stdout.write(`${transcript.text}\n`);
    }
    return 0;
  } catch (error) {
    return failure(io, values.json, error);
  } finally {
    await transcriber.dispose();
  }
}

function failure(io: CommandIo, json: boolean, error: unknown): number {
  const shape = toErrorShape(error);
  if (json) io.stdout.write(jsonLine({ type: 'error', ...shape }));
  else io.stderr.write(`Error (${shape.code}): ${shape.message}\n`);
  return 1;
}

function usageError(io: CommandIo, message: string): number {
  io.stderr.write(`${message}\n\n${USAGE}`);
  return 2;
}
