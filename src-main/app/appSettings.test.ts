import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../src-shared/contract/index.js';
import { resolveAgentConfig, type AgentConfigOverrides } from '../agent/agentConfig.node.js';
import { MAX_LLM_THREADS } from '../agent/agentSettings.node.js';
import { loadModelManifest } from '../models/modelManifest.node.js';
import { TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';
import { scriptedVoiceEngines } from '../testing/scriptedVoiceEngines.js';
import { AppSettings, SavedSettingsFile, savedSettingValues, SETTINGS_FILE_NAME } from './appSettings.node.js';
import { createAgent } from './createAgent.node.js';

const manifest = loadModelManifest();

/** The settings as the app resolves them for one launch: flags (config overrides), env vars, the saved file. */
function launch(dataDir: string, flags: AgentConfigOverrides, env: NodeJS.ProcessEnv) {
  const file = new SavedSettingsFile(dataDir);
  const initial = file.read();
  const config = resolveAgentConfig({ ...flags, dataDir }, env, savedSettingValues(initial.settings));
  const settings = new AppSettings({ file, initial, flags, env, manifest });
  return { config, settings, initial };
}

describe('settings that stay: flag > env > saved > default', () => {
  it.each([
    ['nothing set: the default', {}, {}, undefined, 'default', undefined],
    ['saved only: the saved value', {}, {}, 3, 3, undefined],
    ['env beats saved', {}, { ASSISTANT_LLM_THREADS: '5' }, 3, 5, 'ASSISTANT_LLM_THREADS'],
    ['flag beats env and saved', { llm: { threads: 7 } }, { ASSISTANT_LLM_THREADS: '5' }, 3, 7, '--threads'],
    ['an empty env var counts as unset', {}, { ASSISTANT_LLM_THREADS: '' }, 3, 3, undefined],
  ] as const)('%s', (_, flags, env, saved, expected, overriddenBy) => {
    const dataDir = tempDataDir();
    if (saved !== undefined) new SavedSettingsFile(dataDir).write({ llmThreads: saved });
    const { config, settings } = launch(dataDir, flags as AgentConfigOverrides, env);
    const defaultThreads = resolveAgentConfig({}, {}).llm.threads;
    const want = expected === 'default' ? defaultThreads : expected;
    expect(config.llm.threads).toBe(want);
    const view = settings.view();
    expect(view.effective.llmThreads).toBe(want);
    expect(view.overriddenBy.llmThreads).toBe(overriddenBy);
    expect(view.saved.llmThreads).toBe(saved);
  });

  it('applies every saved setting where neither a flag nor an env var sets it', () => {
    const dataDir = tempDataDir();
    new SavedSettingsFile(dataDir).write({
      llmProvider: 'ollama',
      llmModel: '/models/mine.gguf',
      ollamaModel: 'llama3.2:3b',
      llmThreads: 2,
      stt: 'sphinx',
      whisperModel: 'whisper-tiny-en',
    });
    const { config, settings } = launch(dataDir, { llm: { provider: 'embedded' } }, { ASSISTANT_STT: 'whisper' });
    expect(config.llm).toMatchObject({ provider: 'embedded', modelPath: '/models/mine.gguf', ollamaModel: 'llama3.2:3b', threads: 2 });
    expect(config.voice).toMatchObject({ stt: 'whisper', whisperModel: 'whisper-tiny-en' });
    expect(settings.view().overriddenBy).toEqual({ llmProvider: '--provider', stt: 'ASSISTANT_STT' });
    expect(settings.view().effective).toMatchObject({ llmProvider: 'embedded', llmModel: '/models/mine.gguf', stt: 'whisper' });
  });

  it('a change is saved atomically and read back on the next launch; the effective value follows unless overridden', () => {
    const dataDir = tempDataDir();
    const first = launch(dataDir, {}, { ASSISTANT_LLM_PROVIDER: 'ollama' });
    const view = (first.settings.update({ llmThreads: 6, llmProvider: 'embedded', voice: { rate: 1.5, muted: true } }), first.settings.view());
    expect(view.effective.llmThreads).toBe(6);
    // The env var still wins for this launch, and says so.
    expect(view.effective.llmProvider).toBe('ollama');
    expect(view.overriddenBy.llmProvider).toBe('ASSISTANT_LLM_PROVIDER');
    // Muting is for the moment, not for the next start.
    expect(view.saved.voice).toEqual({ rate: 1.5 });
    expect(readdirSync(dataDir)).toEqual([SETTINGS_FILE_NAME]);

    const next = launch(dataDir, {}, {});
    expect(next.config.llm).toMatchObject({ threads: 6, provider: 'embedded' });
    expect(next.settings.saved).toEqual({ llmThreads: 6, llmProvider: 'embedded', voice: { rate: 1.5 } });
  });
});

describe('a damaged settings file', () => {
  const agents: Array<ReturnType<typeof createAgent>> = [];
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.close()));
  });

  it.each([
    ['not JSON', '{"llmThreads": 4,'],
    ['a value out of range', JSON.stringify({ llmThreads: 10_000 })],
    ['the wrong shape', JSON.stringify(['llmThreads', 4])],
  ])('(%s) is reported once and ignored; the agent starts on the defaults and the next change replaces it', async (_, content) => {
    const dataDir = tempDataDir();
    const file = path.join(dataDir, SETTINGS_FILE_NAME);
    writeFileSync(file, content);
    const agent = createAgent({ config: { dataDir, voice: { enabled: false }, llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL } } });
    agents.push(agent);
    const events: AgentEvent[] = [];
    agent.listen((event) => events.push(event));
    await agent.whenReady();
    await new Promise((resolve) => setImmediate(resolve));

    const notices = events.filter((event) => event.type === 'notice');
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ level: 'warning', message: expect.stringContaining(file) });
    expect(agent.config.llm.threads).toBe(resolveAgentConfig({}, {}).llm.threads);
    expect((await agent.call('agent:status')).llm.state).toBe('warm');
    const view = await agent.call('settings:get');
    expect(view.saved).toEqual({});
    expect(view.problem).toContain('damaged');

    const after = await agent.call('settings:set', { llmThreads: 2 });
    expect(after.problem).toBeUndefined();
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ llmThreads: 2 });
    expect(existsSync(`${file}.${process.pid}.tmp`)).toBe(false);
  });
});

describe('voice settings changed in the app', () => {
  it('are kept (all but mute) and apply again after a restart; settings:set applies a voice change at once', async () => {
    const dataDir = tempDataDir();
    const start = () =>
      createAgent({
        config: { dataDir, voice: { enabled: true }, llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL } },
        voiceEngines: scriptedVoiceEngines({ transcripts: [] }),
      });
    const first = start();
    await first.call('voice:configure', { mode: 'hands-free', voice: 'flite:kal', rate: 1.5, muted: true, speculativeTurns: false });
    expect(JSON.parse(readFileSync(path.join(dataDir, SETTINGS_FILE_NAME), 'utf8'))).toEqual({
      voice: { mode: 'hands-free', voice: 'flite:kal', rate: 1.5, endSilenceMs: 500, minSpeechMs: 250, adaptiveEndSilence: true, speculativeTurns: false },
    });
    await first.close();

    const second = start();
    expect((await second.call('voice:status')).settings).toMatchObject({ mode: 'hands-free', voice: 'flite:kal', rate: 1.5, muted: false, speculativeTurns: false });
    const view = await second.call('settings:set', { voice: { endSilenceMs: 800 } });
    expect(view.saved.voice).toMatchObject({ endSilenceMs: 800, voice: 'flite:kal' });
    expect((await second.call('voice:status')).settings.endSilenceMs).toBe(800);
    // A voice that does not exist is refused, and nothing is saved.
    await expect(second.call('settings:set', { voice: { voice: 'flite:nobody' } })).rejects.toMatchObject({ code: expect.any(String) });
    expect((await second.call('settings:get')).saved.voice?.voice).toBe('flite:kal');
    await second.close();
  });
});

describe('model choices in settings:set', () => {
  it('are checked like models:use before anything is saved: no non-model files, no unknown ids, no absurd thread counts', async () => {
    const dataDir = tempDataDir();
    const agent = createAgent({ config: { dataDir, voice: { enabled: false }, llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL } } });
    try {
      const file = path.join(dataDir, SETTINGS_FILE_NAME);
      const notAModel = path.join(dataDir, 'notes.txt');
      writeFileSync(notAModel, 'not a model at all, just some text that is long enough');
      await expect(agent.call('settings:set', { llmModel: notAModel, whisperModel: notAModel })).rejects.toMatchObject({
        code: 'MODEL_CORRUPT',
        message: expect.stringContaining('llmModel was not saved'),
      });
      await expect(agent.call('settings:set', { whisperModel: notAModel })).rejects.toMatchObject({ message: expect.stringContaining('whisperModel was not saved') });
      await expect(agent.call('settings:set', { llmModel: 'no-such-model' })).rejects.toMatchObject({
        code: 'NOT_FOUND',
        message: expect.stringContaining('unknown model id "no-such-model"'),
      });
      await expect(agent.call('settings:set', { llmModel: 'whisper-base-en' })).rejects.toMatchObject({ message: expect.stringContaining('not a chat model') });
      if (MAX_LLM_THREADS < 256) await expect(agent.call('settings:set', { llmThreads: MAX_LLM_THREADS + 1 })).rejects.toMatchObject({ message: expect.stringContaining('llmThreads') });
      expect(existsSync(file)).toBe(false);

      const view = await agent.call('settings:set', { llmModel: TEST_LLM_MODEL, whisperModel: 'whisper-base-en' });
      expect(view.saved).toMatchObject({ llmModel: path.resolve(TEST_LLM_MODEL), whisperModel: 'whisper-base-en' });
    } finally {
      await agent.close();
    }
  });
});
