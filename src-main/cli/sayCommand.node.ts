import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AgentError } from '../../src-shared/contract/index.js';
import { toSpeakableText } from '../../src-shared/speech/speakableText.js';
import { encodeWav16 } from '../voice/audio/wavCodec.node.js';
import { FliteSpeechSynthesizer } from '../voice/tts/fliteSpeechSynthesizer.node.js';
import type { SpeechSynthesizer } from '../voice/tts/speechSynthesizer.js';

export interface SayCommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export interface SayCommandOptions {
  /** Defaults to the built-in flite voice. */
  synthesizer?: SpeechSynthesizer;
}

const USAGE = `Usage: assistant say "<text>" -o <out.wav> [options]

Speaks text with the built-in voice and writes a WAV file. Markdown, code, URLs and emoji are not read aloud.

Options:
  -o, --output <file>  WAV file to write (required).
  --voice <name>       Voice to use (default: the first listed by --list-voices).
  --rate <number>      Speaking speed, 1 is normal (default 1).
  --list-voices        Print the available voices.
  -h, --help           Show this help.
`;

/** `assistant say ...`: returns the process exit code (0 ok, 1 failed, 2 bad usage). */
export async function runSayCommand(args: string[], io: SayCommandIo, options: SayCommandOptions = {}): Promise<number> {
  const synthesizer = options.synthesizer ?? new FliteSpeechSynthesizer();
  let parsed: ReturnType<typeof parseSayArgs>;
  try {
    parsed = parseSayArgs(args);
  } catch (error) {
    return usageError(io, error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  if (values['list-voices']) {
    io.stdout.write(`${synthesizer.voices.join('\n')}\n`);
    return 0;
  }

  const text = positionals.join(' ');
  if (text.trim() === '') return usageError(io, 'say needs the text to speak, e.g. assistant say "Hello there" -o hello.wav');
  if (values.output === undefined) return usageError(io, 'say needs an output file: add -o <file.wav>.');
  const rate = values.rate === undefined ? 1 : Number(values.rate);
  if (!Number.isFinite(rate)) return usageError(io, `--rate must be a number such as 0.8 or 1.2, got "${values.rate}".`);

  const speakable = toSpeakableText(text);
  if (speakable === '') {
    return usageError(io, 'The text has nothing to say aloud: markdown, code, URLs and emoji are skipped. Give it some words.');
  }

  const outputPath = resolve(values.output);
  try {
    const audio = await synthesizer.synthesize(speakable, {
      rate,
      ...(values.voice !== undefined && { voice: values.voice }),
    });
    await writeFile(outputPath, encodeWav16(audio.samples, audio.sampleRate));
    const seconds = (audio.samples.length / audio.sampleRate).toFixed(2);
    io.stdout.write(`Wrote ${outputPath} (${seconds} s, ${audio.sampleRate} Hz mono)\n`);
    return 0;
  } catch (error) {
    io.stderr.write(`${describeFailure(error, outputPath)}\n`);
    return 1;
  }
}

function parseSayArgs(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      output: { type: 'string', short: 'o' },
      voice: { type: 'string' },
      rate: { type: 'string' },
      'list-voices': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function usageError(io: SayCommandIo, message: string): number {
  io.stderr.write(`${message}\n\n${USAGE}`);
  return 2;
}

function describeFailure(error: unknown, outputPath: string): string {
  if (error instanceof AgentError) return error.detail === undefined ? error.message : `${error.message}\n${error.detail}`;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return `Cannot write ${outputPath}: its folder does not exist. Create the folder or choose another path.`;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return `Cannot write ${outputPath}: permission denied. Choose a path you can write to.`;
    case 'EISDIR':
      return `Cannot write ${outputPath}: it is a folder. Give a file name such as ${outputPath}/speech.wav.`;
    default:
      return `Cannot write ${outputPath}: ${error instanceof Error ? error.message : String(error)}`;
  }
}
