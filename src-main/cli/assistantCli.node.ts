import type { CommandIo } from './commandIo.js';

const USAGE = `Usage: assistant <command> [options]

Commands:
  chat ["question"]        Ask a question (streams the answer), or open an interactive chat.
  models list|pull|path    Show, download (resumable, checksummed) or locate models.
  doctor                   Check models, Ollama, the Electron binary and where data lives.
  serve                    Run the headless host: the app UI in a browser at a 127.0.0.1 URL.
  transcribe file.wav      Speech to text (--stt whisper|sphinx).
  say "text" -o out.wav    Speak text with the built-in voice.
  voice file.wav           One whole voice turn from a WAV file.
  bench                    Measure start-up, first token, tokens/s, cache hits and voice latency.

Run "assistant <command> --help" for a command's options.
`;

/** Dispatches to a command; each is imported on demand so `chat` does not pay for the voice stack. */
export async function runAssistantCli(argv: string[], io: CommandIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'chat':
      return (await import('./chatCommand.node.js')).runChatCommand(rest, io);
    case 'models':
      return (await import('../models/modelsCommand.node.js')).runModelsCommand(rest, io);
    case 'doctor':
      return (await import('./doctorCommand.node.js')).runDoctorCommand(rest, io);
    case 'serve':
      return (await import('./serveCommand.node.js')).runServeCommand(rest, io);
    case 'transcribe':
      return (await import('../voice/stt/transcribeCommand.node.js')).runTranscribeCommand(rest, io);
    case 'say':
      return (await import('../voice/tts/sayCommand.node.js')).runSayCommand(rest, io);
    case 'voice':
      return (await import('../voice/voiceCommand.node.js')).runVoiceCommand(rest, io);
    case 'bench':
      return (await import('./benchCommand.node.js')).runBenchCommand(rest, io);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      (command === undefined ? io.stderr : io.stdout).write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      io.stderr.write(`Unknown command "${command}".\n\n${USAGE}`);
      return 2;
  }
}
