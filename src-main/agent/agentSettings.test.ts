import { MAX_LLM_THREADS } from './agentSettings.node.js';
import { describe, expect, it } from 'vitest';
import { toErrorShape } from '../../src-shared/contract/index.js';
import { resolveAgentConfig } from './agentConfig.node.js';
import { InvalidSettingError, readEnvSettings, readFlagSettings, SETTINGS, settingsToOverrides } from './agentSettings.node.js';

/** The message of the InvalidSettingError `run` throws (fails the test when it throws nothing or something else). */
function settingError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidSettingError);
    expect(toErrorShape(error)).toEqual({ code: 'INVALID_SETTING', message: (error as Error).message });
    return (error as Error).message;
  }
  throw new Error('expected an InvalidSettingError, nothing was thrown');
}

const AGENT_FLAGS = ['model', 'dataDir', 'provider', 'threads', 'maxAnswerTokens'] as const;

describe('settings from environment variables', () => {
  it('turns each valid value into the config', () => {
    const config = resolveAgentConfig(
      {},
      {
        ASSISTANT_DATA_DIR: '/tmp/profile',
        ASSISTANT_LLM_THREADS: '3',
        ASSISTANT_LLM_PROVIDER: 'ollama',
        ASSISTANT_LLM_CONTEXT: '2048',
        ASSISTANT_MAX_ANSWER_TOKENS: '64',
        ASSISTANT_STT: 'sphinx',
        ASSISTANT_VOICE: 'off',
        ASSISTANT_STT_THREADS: '2',
        ASSISTANT_LOG_LEVEL: 'debug',
        ASSISTANT_LLM_MODEL: '/models/chat.gguf',
        OLLAMA_HOST: 'http://127.0.0.1:9999',
      },
    );
    expect(config).toMatchObject({
      dataDir: '/tmp/profile',
      maxAnswerTokens: 64,
      logLevel: 'debug',
      llm: { threads: 3, provider: 'ollama', contextSize: 2048, modelPath: '/models/chat.gguf', ollamaHost: 'http://127.0.0.1:9999' },
      voice: { stt: 'sphinx', enabled: false, sttThreads: 2 },
    });
  });

  it('treats an empty variable as unset: the default applies', () => {
    const config = resolveAgentConfig({}, { ASSISTANT_LLM_THREADS: '', ASSISTANT_LLM_PROVIDER: '', ASSISTANT_DATA_DIR: '', ASSISTANT_VOICE: '' });
    const defaults = resolveAgentConfig({}, {});
    expect(config.llm.threads).toBe(defaults.llm.threads);
    expect(config.llm.provider).toBe('auto');
    expect(config.dataDir).toBe(defaults.dataDir);
    expect(config.voice.enabled).toBe(true);
  });

  it('refuses bad values with a message naming the variable and what is allowed', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ ASSISTANT_LLM_THREADS: 'abc' }, `ASSISTANT_LLM_THREADS must be a whole number from 1 to ${MAX_LLM_THREADS}; got "abc".`],
      [{ ASSISTANT_LLM_THREADS: '0' }, `ASSISTANT_LLM_THREADS must be a whole number from 1 to ${MAX_LLM_THREADS}; got "0".`],
      [{ ASSISTANT_LLM_THREADS: '-2' }, `ASSISTANT_LLM_THREADS must be a whole number from 1 to ${MAX_LLM_THREADS}; got "-2".`],
      [{ ASSISTANT_LLM_THREADS: '1.5' }, `ASSISTANT_LLM_THREADS must be a whole number from 1 to ${MAX_LLM_THREADS}; got "1.5".`],
      [{ ASSISTANT_LLM_THREADS: '1e3' }, `ASSISTANT_LLM_THREADS must be a whole number from 1 to ${MAX_LLM_THREADS}; got "1e3".`],
      [{ ASSISTANT_LLM_THREADS: ' 2' }, `ASSISTANT_LLM_THREADS must be a whole number from 1 to ${MAX_LLM_THREADS}; got " 2".`],
      [{ ASSISTANT_LLM_THREADS: '100000' }, `ASSISTANT_LLM_THREADS must be a whole number from 1 to ${MAX_LLM_THREADS}; got "100000".`],
      // Huge numbers once passed Number.isInteger (1e20 is an integer to JavaScript).
      [{ ASSISTANT_MAX_ANSWER_TOKENS: '99999999999999999999' }, 'ASSISTANT_MAX_ANSWER_TOKENS must be a whole number from 1 to 131072; got "99999999999999999999".'],
      [{ ASSISTANT_LLM_CONTEXT: '0x1000' }, 'ASSISTANT_LLM_CONTEXT must be a whole number from 1 to 1048576; got "0x1000".'],
      [{ ASSISTANT_MAX_QUESTION_CHARS: '2000000' }, 'ASSISTANT_MAX_QUESTION_CHARS must be a whole number from 1 to 1000000; got "2000000".'],
      [{ ASSISTANT_LLM_PROVIDER: 'cloud' }, 'ASSISTANT_LLM_PROVIDER must be one of auto, embedded, ollama, openai; got "cloud".'],
      [{ ASSISTANT_STT: 'Whisper' }, 'ASSISTANT_STT must be one of auto, whisper, sphinx; got "Whisper".'],
      [{ ASSISTANT_VOICE: 'maybe' }, 'ASSISTANT_VOICE must be one of on, off; got "maybe".'],
      [{ ASSISTANT_LOG_LEVEL: 'loud' }, 'ASSISTANT_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "loud".'],
    ];
    for (const [env, message] of cases) expect(settingError(() => resolveAgentConfig({}, env))).toBe(message);
  });

  it('shortens a huge value in the message and says how long it was', () => {
    const huge = 'x'.repeat(100_000);
    expect(settingError(() => readEnvSettings({ ASSISTANT_DATA_DIR: huge }))).toBe(
      `ASSISTANT_DATA_DIR must be a folder path of 1 to 4096 characters; got "${'x'.repeat(40)}…" (100000 characters).`,
    );
    expect(settingError(() => readEnvSettings({ ASSISTANT_LLM_THREADS: '7'.repeat(5000) }))).toContain('(5000 characters)');
  });
});

describe('settings from flags (the same schema)', () => {
  const fromFlags = (values: Record<string, unknown>, names: Parameters<typeof readFlagSettings>[1] = AGENT_FLAGS) =>
    settingsToOverrides(readFlagSettings(values, names));

  it('turns valid flags into config overrides', () => {
    expect(fromFlags({ threads: '2', provider: 'embedded', model: '/m.gguf', 'data-dir': '/d', 'max-tokens': '40' })).toEqual({
      dataDir: '/d',
      maxAnswerTokens: 40,
      llm: { provider: 'embedded', modelPath: '/m.gguf', threads: 2 },
      voice: {},
      guards: {},
      documents: {},
    });
    expect(fromFlags({ stt: 'whisper' }, [...AGENT_FLAGS, 'stt']).voice).toEqual({ stt: 'whisper' });
    // A command that does not take --stt ignores it (parseArgs already refused it as unknown).
    expect(fromFlags({ stt: 'whisper' }).voice).toEqual({});
  });

  it('refuses bad, empty and huge flag values with a message naming the flag', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ threads: '0' }, `--threads must be a whole number from 1 to ${MAX_LLM_THREADS}; got "0".`],
      [{ threads: 'two' }, `--threads must be a whole number from 1 to ${MAX_LLM_THREADS}; got "two".`],
      [{ threads: '' }, `--threads must be a whole number from 1 to ${MAX_LLM_THREADS}; got "".`],
      [{ 'max-tokens': '99999999999999999999' }, '--max-tokens must be a whole number from 1 to 131072; got "99999999999999999999".'],
      [{ provider: 'cloud' }, '--provider must be one of auto, embedded, ollama, openai; got "cloud".'],
      [{ provider: '' }, '--provider must be one of auto, embedded, ollama, openai; got "".'],
      [{ 'data-dir': '' }, '--data-dir must be a folder path of 1 to 4096 characters; got "".'],
      [{ model: '' }, '--model must be a .gguf file path of 1 to 4096 characters; got "".'],
    ];
    for (const [values, message] of cases) expect(settingError(() => fromFlags(values))).toBe(message);
    expect(settingError(() => fromFlags({ stt: 'google' }, [...AGENT_FLAGS, 'stt']))).toBe('--stt must be one of auto, whisper, sphinx; got "google".');
  });

  it('lets a flag beat its env var', () => {
    const env = { ASSISTANT_LLM_THREADS: '3', ASSISTANT_LLM_PROVIDER: 'ollama' };
    const config = resolveAgentConfig(fromFlags({ threads: '1', provider: 'embedded' }), env);
    expect(config.llm).toMatchObject({ threads: 1, provider: 'embedded' });
  });

  it('gives every setting its own env var and every flag to one setting', () => {
    const envs = Object.values(SETTINGS).map((setting) => setting.env);
    const flags = Object.values(SETTINGS).flatMap((setting) => ('flag' in setting ? [setting.flag] : []));
    expect(new Set(envs).size).toBe(envs.length);
    expect(new Set(flags).size).toBe(flags.length);
  });
});
