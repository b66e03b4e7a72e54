import { toErrorShape } from '../../src-shared/contract/index.js';
import { jsonLine, jsonRequested, writeCommandError, writeUsageError, type CommandIo } from './commandIo.js';

const USAGE = `Usage: assistant <command> [options]

Commands:
  chat ["question"]        Ask a question (streams the answer), or open an interactive chat.
  models list|pull|path    Show, download (resumable, checksummed) or locate models.
  doctor                   Check models, Ollama, the Electron binary and where data lives.
  serve                    Run the headless host: the app UI in a browser at a 127.0.0.1 URL.
  transcribe file.wav      Speech to text (--stt whisper|sphinx).
  say "text" -o out.wav    Speak text with the built-in voice.
  voice file.wav           One whole voice turn from a WAV file.
  ingest <path>...         Add documents (txt, md, html, pdf, docx; folders too) for answers to cite (--watch).
  docs list|rm             Show or remove ingested documents.
  search "query"           Search your documents the way a question does.
  guard-eval               Detection and false-positive rates of the guardrails on the repo's evaluation sets.
  history [id]             List conversations, or show one: each question followed by its answer.
  stats                    Per-stage latency percentiles (p50/p90/p95/p99) of the stored turns.
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
      return (await import('./modelsCommand.node.js')).runModelsCommand(rest, io);
    case 'doctor':
      return (await import('./doctorCommand.node.js')).runDoctorCommand(rest, io);
    case 'serve':
      return (await import('./serveCommand.node.js')).runServeCommand(rest, io);
    case 'transcribe':
      return (await import('./transcribeCommand.node.js')).runTranscribeCommand(rest, io);
    case 'say':
      return (await import('./sayCommand.node.js')).runSayCommand(rest, io);
    case 'voice':
      return (await import('./voiceCommand.node.js')).runVoiceCommand(rest, io);
    case 'ingest':
      return (await import('./documentsCommand.node.js')).runIngestCommand(rest, io);
    case 'docs':
      return (await import('./documentsCommand.node.js')).runDocsCommand(rest, io);
    case 'search':
      return (await import('./documentsCommand.node.js')).runSearchCommand(rest, io);
    case 'guard-eval':
      return (await import('./guardEvalCommand.node.js')).runGuardEvalCommand(rest, io);
    case 'history':
      return (await import('./historyCommand.node.js')).runHistoryCommand(rest, io);
    case 'stats':
      return (await import('./statsCommand.node.js')).runStatsCommand(rest, io);
    case 'bench':
      return (await import('./benchCommand.node.js')).runBenchCommand(rest, io);
    case undefined:
      return writeUsageError(io, argv, 'Which command? See the list below.', USAGE);
    case '-h':
    case '--help':
    case 'help':
      io.stdout.write(USAGE);
      return 0;
    default:
      return writeUsageError(io, argv, `Unknown command "${command}".`, USAGE);
  }
}

/** One line about an error nobody caught (a JSON error line with --json); the stack only with ASSISTANT_DEBUG=1. */
export function reportUnexpectedError(error: unknown, argv: string[], io: CommandIo, env: NodeJS.ProcessEnv = process.env): void {
  const shape = toErrorShape(error);
  const message = shape.message.split('\n')[0] || String(error);
  writeCommandError(io, argv.includes('--json'), { code: shape.code, message });
  if (env.ASSISTANT_DEBUG === '1' && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  else if (!argv.includes('--json')) io.stderr.write('(Set ASSISTANT_DEBUG=1 to see the details.)\n');
}

/**
 * The CLI as `bin/assistant.js` runs it: any error that escapes a command, and any uncaught exception or unhandled
 * rejection later on, ends the process with one clear line and exit code 1, never a raw stack trace.
 */
export async function runAssistantCliMain(argv: string[], io: CommandIo): Promise<number> {
  const fatal = (error: unknown) => {
    // A reader that stopped early (`assistant history | head -1`): nothing more to say, and it is not a failure.
    if (isBrokenPipe(error)) process.exit(0);
    reportUnexpectedError(error, argv, io);
    process.exit(1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  // EPIPE on stdout arrives as an 'error' event on the stream; without a listener it would be an uncaught exception.
  const stdoutEvents = io.stdout as Partial<NodeJS.EventEmitter>;
  const onStdoutError = (error: unknown) => {
    if (isBrokenPipe(error)) process.exit(0);
    fatal(error);
  };
  if (typeof stdoutEvents.on === 'function') stdoutEvents.on('error', onStdoutError);
  const json = jsonRequested(argv);
  // With --json every error is an NDJSON line: note whether the command printed one, for commands that only wrote stderr.
  let printedJsonError = false;
  let stderrText = '';
  const commandIo: CommandIo = json
    ? {
        stdout: {
          write: (text: string) => {
            if (!printedJsonError && /"type":"error"/.test(text)) printedJsonError = true;
            return io.stdout.write(text);
          },
          ...(io.stdout.isTTY !== undefined && { isTTY: io.stdout.isTTY }),
        },
        stderr: {
          write: (text: string) => {
            if (stderrText.length < 4096) stderrText += text;
            return io.stderr.write(text);
          },
          ...(io.stderr.isTTY !== undefined && { isTTY: io.stderr.isTTY }),
        },
      }
    : io;
  let code: number;
  try {
    code = await runAssistantCli(argv, commandIo);
  } catch (error) {
    if (isBrokenPipe(error)) return 0;
    // A bad flag that a command did not catch is a usage error.
    if ((error as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS')) {
      return writeUsageError(io, argv, (error as Error).message, `Run "assistant ${argv[0] ?? ''} --help" for the options.\n`);
    }
    // A bad env var (or flag) value that a command did not catch is a usage error too; the message names it.
    if ((error as { code?: unknown }).code === 'INVALID_SETTING') {
      writeCommandError(io, json, { code: 'INVALID_SETTING', message: (error as Error).message });
      if (process.env.ASSISTANT_DEBUG === '1' && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
      return 2;
    }
    reportUnexpectedError(error, argv, io);
    return 1;
  }
  if (json && code === 2 && !printedJsonError) {
    // A usage error that a command reported on stderr only: its first line becomes the NDJSON error.
    const message = stderrText.split('\n').find((line) => line.trim() !== '') ?? `Bad usage of assistant ${argv[0] ?? ''}.`;
    io.stdout.write(jsonLine({ type: 'error', code: 'USAGE', message: message.trim() }));
  }
  return code;
}

/** An EPIPE: the reader of stdout went away (`| head`). */
function isBrokenPipe(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'EPIPE';
}
