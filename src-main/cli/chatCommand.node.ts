import readline from 'node:readline';
import { CouncilRequest, toErrorShape, type AgentEvent, type CouncilEvent } from '../../src-shared/contract/index.js';
import { createAgent } from '../app/createAgent.node.js';
import type { AgentConfigOverrides } from '../agent/agentConfig.node.js';
import { readEnvSettings, readFlagSettings, settingFlagOptions, settingsToOverrides, type FlagSettingName } from '../agent/agentSettings.node.js';
import { parseCommandLine } from './commandLine.node.js';
import { jsonLine, writeCommandError, writeSettingError, type CommandIo } from './commandIo.js';
import { printable } from './historyCommand.node.js';

export const CHAT_USAGE = `Usage: assistant chat ["question"] [options]

Streams the answer to stdout. With no question, opens an interactive chat (Ctrl+C stops an answer; Ctrl+D exits).

Options:
  --json                 Print NDJSON events (token, done, error, notice) instead of text.
  --model <path>         GGUF model file (default: $ASSISTANT_LLM_MODEL, else the manifest's default model).
  --data-dir <dir>       Profile directory (default: $ASSISTANT_DATA_DIR, else the user data dir).
  --provider <p>         auto | embedded | ollama | openai (default: auto = Ollama when reachable with the model;
                         openai: $ASSISTANT_OPENAI_BASE_URL, $ASSISTANT_OPENAI_MODEL, $ASSISTANT_OPENAI_API_KEY).
  --threads <n>          CPU threads for the embedded model.
  --max-tokens <n>       Longest answer in tokens.
  --encrypt on|off       Encrypt the databases with SQLCipher (default: $ASSISTANT_ENCRYPT, else off). The key:
                         $ASSISTANT_DB_KEY (64 hex digits), else <data dir>/db-key (0600, made when needed).
                         An encrypted profile stays encrypted.
  --conversation <id>    Continue this conversation.
  --tier <t>             fast | balanced | quality | auto: the model tier ($ASSISTANT_TIER; each tier's model from
                         $ASSISTANT_TIER_FAST, _BALANCED, _QUALITY, default the chat model). auto picks one per question.
  --council              Ask a council of local models: members answer, rank each other's answers anonymously, and a
                         chairman writes the answer from the best of them (shown on stderr; --json: council events).
  --members <a,b,c>      The council's members: a tier (fast, balanced, quality), a .gguf file, ollama:<model> or
                         openai:<model>; the same model twice is two members with their own seeds.
                         Default: the chat model three times.
  --chairman <m>         Who writes the final answer (default: the chat model).
`;

/** The setting flags every command that starts an agent takes (chat, voice, serve, bench); see agentSettings. */
export const AGENT_FLAG_SETTINGS = ['model', 'dataDir', 'provider', 'threads', 'maxAnswerTokens', 'encrypt'] as const satisfies readonly FlagSettingName[];

/** Options shared by every command that starts an agent (chat, voice, bench). */
export const agentOptionSpec = settingFlagOptions(AGENT_FLAG_SETTINGS);

/**
 * The agent's config from the setting flags (`names`: which ones this command takes), validated by the same schema as
 * the env vars. The env vars are checked too, so a bad value in either fails here, before anything starts, with an
 * InvalidSettingError naming the flag or variable (the commands exit 2 on it).
 */
export function agentConfigFromFlags(
  values: Readonly<Record<string, unknown>>,
  names: readonly FlagSettingName[] = AGENT_FLAG_SETTINGS,
  env: NodeJS.ProcessEnv = process.env,
): AgentConfigOverrides {
  readEnvSettings(env);
  const overrides = settingsToOverrides(readFlagSettings(values, names));
  // The voice stack is loaded by the commands that use it (serve, voice); text chat does not pay for it.
  return { ...overrides, voice: { ...overrides.voice, enabled: false } };
}

/** `assistant chat`: one question, or an interactive chat. Returns the exit code. */
export async function runChatCommand(args: string[], io: CommandIo, stdin: NodeJS.ReadableStream = process.stdin): Promise<number> {
  const parsed = parseCommandLine(
    args,
    {
      ...agentOptionSpec,
      json: { type: 'boolean' },
      conversation: { type: 'string' },
      council: { type: 'boolean' },
      tier: { type: 'string' },
      members: { type: 'string' },
      chairman: { type: 'string' },
    },
    CHAT_USAGE,
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const json = values.json === true;
  const council = councilFromFlags(values);
  if (typeof council === 'string') {
    io.stderr.write(`${council}\n`);
    return 2;
  }
  let config: AgentConfigOverrides;
  try {
    config = { ...agentConfigFromFlags(values), ...(values.tier !== undefined && { tier: values.tier }) };
  } catch (error) {
    return writeSettingError(io, args, error);
  }

  let agent: ReturnType<typeof createAgent>;
  try {
    agent = createAgent({ config });
  } catch (error) {
    // An unusable data folder or a damaged database: a clear line naming the path and the fix, exit 1.
    const shape = toErrorShape(error);
    writeCommandError(io, json, shape);
    // A bad ASSISTANT_MODELS_MANIFEST (or another setting) is a settings error, as in `models list`.
    return shape.code === 'INVALID_SETTING' ? 2 : 1;
  }
  const print = (event: AgentEvent) => {
    if (json) {
      if (event.type !== 'status' && event.type !== 'conversations-changed') io.stdout.write(jsonLine(event));
      return;
    }
    if (event.type === 'token') io.stdout.write(event.text);
    else if (event.type === 'notice') io.stderr.write(`\n[${event.level}] ${printable(event.message)}\n`);
    else if (event.type === 'council') io.stderr.write(councilLine(event));
    else if (event.type === 'status' && event.status.llm.state === 'loading' && event.status.llm.model) {
      io.stderr.write(`Loading ${event.status.llm.model} (${event.status.llm.provider})…\n`);
    }
  };
  agent.listen(print);

  let conversationId = values.conversation;
  let activeTurn: string | undefined;
  /** Asks one question; resolves with 'ok', 'blocked' (a guard refused it) or 'failed'. */
  const askOnce = async (question: string): Promise<'ok' | 'blocked' | 'failed'> => {
    try {
      const started = await agent.call('chat:send', {
        text: question,
        ...(conversationId && { conversationId }),
        ...(council && { council }),
      });
      conversationId = started.conversationId;
      activeTurn = started.turnId;
      const ending = await new Promise<AgentEvent>((resolve) => {
        const stop = agent.listen((event) => {
          if ((event.type === 'done' || event.type === 'error' || event.type === 'blocked') && event.turnId === started.turnId) {
            stop();
            resolve(event);
          }
        });
      });
      activeTurn = undefined;
      if (ending.type === 'error') {
        if (!json) io.stderr.write(`\nError (${ending.code}): ${printable(ending.message)}\n`);
        return 'failed';
      }
      if (ending.type === 'blocked') {
        if (!json) io.stderr.write(`Not answered (${ending.guard} check): ${printable(ending.reason)}\n`);
        return 'blocked';
      }
      if (!json && ending.type === 'done') {
        io.stdout.write('\n');
        if (ending.citations.length > 0) {
          io.stdout.write(`Sources:\n${ending.citations.map((c, index) => `  [${index + 1}] ${printable(c.source)} #${c.chunk}\n`).join('')}`);
        }
        const note = ending.cached ? 'cached' : ending.interrupted ? 'interrupted' : `${ending.timings.ttftMs ?? '-'} ms to first token`;
        if (io.stderr.isTTY) io.stderr.write(`(${note})\n`);
      }
      return 'ok';
    } catch (error) {
      const shape = toErrorShape(error);
      if (json) io.stdout.write(jsonLine({ type: 'error', ...shape }));
      else io.stderr.write(`Error (${shape.code}): ${printable(shape.message)}\n`);
      return 'failed';
    }
  };

  // Ctrl+C stops the answer (its partial is kept); a second Ctrl+C, or one at the prompt, quits.
  let interrupted = false;
  const onSigint = () => {
    if (activeTurn && !interrupted) {
      interrupted = true;
      void agent.call('chat:cancel', { turnId: activeTurn });
    } else {
      void agent.close().finally(() => process.exit(130));
    }
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  try {
    const question = positionals.join(' ');
    if (positionals.length > 0) {
      // Exit codes: 0 answered, 1 failed, 3 refused by a guard, 130 stopped with Ctrl+C.
      const outcome = await askOnce(question);
      return outcome === 'blocked' ? 3 : outcome === 'failed' ? 1 : interrupted ? 130 : 0;
    }
    return await runRepl(stdin, io, async (line) => {
      interrupted = false;
      await askOnce(line);
    });
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await agent.close();
  }
}

async function runRepl(stdin: NodeJS.ReadableStream, io: CommandIo, ask: (line: string) => Promise<void>): Promise<number> {
  const rl = readline.createInterface({ input: stdin, terminal: false });
  const prompt = () => io.stderr.write('> ');
  io.stderr.write('Offline chat. Type a question and press Enter; Ctrl+D to quit.\n');
  prompt();
  for await (const line of rl) {
    if (line.trim() === '/exit') break;
    if (line.trim() !== '') await ask(line);
    prompt();
  }
  return 0;
}

/** The council the flags ask for, undefined for none, or the usage error. */
function councilFromFlags(values: { council?: boolean; members?: string; chairman?: string }): CouncilRequest | undefined | string {
  if (!values.council) {
    return values.members !== undefined || values.chairman !== undefined ? '--members and --chairman go with --council.' : undefined;
  }
  const members = values.members?.split(',').map((member) => member.trim()).filter(Boolean);
  const request = { ...(members && { members }), ...(values.chairman !== undefined && { chairman: values.chairman.trim() }) };
  const checked = CouncilRequest.safeParse(request);
  if (!checked.success) return `--members takes 1 to 8 models separated by commas, and --chairman one model (${checked.error.issues[0]?.message ?? 'invalid'}).`;
  return checked.data;
}

/** One council piece as a line on stderr: the answer stays alone on stdout. */
function councilLine(event: CouncilEvent): string {
  const shown = (text: string | undefined) => printable((text ?? '').replace(/\s+/g, ' ').slice(0, 160));
  switch (event.kind) {
    case 'answer':
      return `[council 1] ${printable(event.model)}: ${shown(event.text)}\n`;
    case 'ranking':
      return event.usable
        ? `[council 2] ${event.model} ranks: ${(event.ranking ?? []).map((entry) => entry.model).join(' > ')}\n`
        : `[council 2] ${event.model}: no usable ranking (${event.reason ?? 'unreadable'})\n`;
    case 'aggregate':
      return `[council 2] standings (${event.method}): ${(event.table ?? []).map((row) => `${row.position}. ${row.model}`).join(', ')}\n`;
    default:
      return `[council] ${printable(event.message ?? '')}\n`;
  }
}
