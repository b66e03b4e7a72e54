import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  AgentError,
  SavedSettings,
  VoiceSettings,
  type GuardSetting,
  type GuardSettings,
  type SettingsView,
} from '../../src-shared/contract/index.js';
import { resolveAgentConfig, type AgentConfigOverrides } from '../agent/agentConfig.node.js';
import type { SqliteDatabase } from '../agent/memory/sqliteDatabase.node.js';
import { readEnvSettings, SETTINGS, type SettingName, type SettingValues } from '../agent/agentSettings.node.js';
import { defaultManifestEntry, type ModelManifest } from '../models/modelManifest.js';

/** The settings file in the data dir. */
export const SETTINGS_FILE_NAME = 'settings.json';
/** Larger than any real settings file; a bigger one is not read (it is not ours). */
const MAX_SETTINGS_BYTES = 256 * 1024;

/** Tiers are kept too, but read by the tier settings (a bad value warns instead of failing the start). */
type SavedKey = Exclude<keyof SavedSettings, 'voice' | 'guards' | 'tier' | 'tiers'>;

/** Each saved setting and the setting (env var, flag) of agentSettings it stands in for. */
const SAVED_AS: Record<SavedKey, SettingName> = {
  llmProvider: 'provider',
  llmModel: 'model',
  ollamaModel: 'ollamaModel',
  llmThreads: 'threads',
  stt: 'stt',
  whisperModel: 'whisperModel',
  embedder: 'embedder',
};

/** The voice settings that are kept; `muted` is for the moment, not for the next start. */
const KEPT_VOICE_SETTINGS = ['mode', 'voice', 'rate', 'endSilenceMs', 'minSpeechMs', 'adaptiveEndSilence', 'speculativeTurns'] as const;

export interface SavedSettingsRead {
  settings: SavedSettings;
  /** Why the file was ignored (damaged), in one sentence naming it. */
  problem?: string;
}

/** Where the saved settings are kept: settings.json, or (in an encrypted profile) the encrypted database. */
export interface SavedSettingsStore {
  /** What messages name as the place the settings are saved in. */
  readonly path: string;
  read(): SavedSettingsRead;
  /** Throws DATA_DIR_UNUSABLE naming the place when the settings cannot be saved. */
  write(settings: SavedSettings): void;
}

/** Saved settings from their JSON text, validated with the contract's schema; `where` names the place in the problem. */
function parseSavedSettings(text: string, where: string): SavedSettingsRead {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { settings: {}, problem: `The settings file ${where} is damaged (not JSON); the defaults apply and the next change replaces it.` };
  }
  const parsed = SavedSettings.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const at = first?.path.join('.') || 'the file';
    return {
      settings: {},
      problem: `The settings file ${where} is damaged (${at}: ${first?.message ?? 'invalid'}); the defaults apply and the next change replaces it.`,
    };
  }
  return { settings: parsed.data };
}

/**
 * `<data dir>/settings.json`: the settings the app keeps between launches, validated with the contract's schema.
 * Written atomically (a temporary file, then rename), so a crash mid-write leaves the old file. A damaged file is
 * ignored, never fatal: the defaults apply and the next save replaces it.
 */
export class SavedSettingsFile implements SavedSettingsStore {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = path.join(path.resolve(dataDir), SETTINGS_FILE_NAME);
  }

  read(): SavedSettingsRead {
    let text: string;
    try {
      const stat = statSync(this.path);
      if (!stat.isFile()) return { settings: {}, problem: `The settings file ${this.path} is not a file; it was ignored.` };
      if (stat.size > MAX_SETTINGS_BYTES) return { settings: {}, problem: `The settings file ${this.path} is too large to be settings; it was ignored.` };
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // No file yet (or no data folder yet: the agent reports that itself).
      if (code === 'ENOENT' || code === 'ENOTDIR') return { settings: {} };
      return { settings: {}, problem: `The settings file ${this.path} could not be read (${code ?? String(error)}); the defaults apply.` };
    }
    return parseSavedSettings(text, this.path);
  }

  /** Throws DATA_DIR_UNUSABLE naming the file when it cannot be written. */
  write(settings: SavedSettings): void {
    const temporary = `${this.path}.${process.pid}.tmp`;
    try {
      mkdirSync(path.dirname(this.path), { recursive: true });
      writeFileSync(temporary, `${JSON.stringify(SavedSettings.parse(settings), null, 2)}\n`, { mode: 0o600 });
      renameSync(temporary, this.path);
    } catch (error) {
      rmSync(temporary, { force: true });
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new AgentError('DATA_DIR_UNUSABLE', `Could not save the settings to ${this.path} (${reason}).`);
    }
  }
}

/** The saved settings as agentSettings' values: they come after flags and env vars, before the defaults. */
export function savedSettingValues(saved: SavedSettings): SettingValues {
  const values: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(SAVED_AS) as [SavedKey, SettingName][]) {
    if (saved[key] !== undefined) values[name] = saved[key];
  }
  return values as SettingValues;
}

/** Which saved settings the launch's overrides (command-line flags, or a test's config) fix. */
function overriddenByFlags(overrides: AgentConfigOverrides): Partial<Record<SavedKey, unknown>> {
  return {
    llmProvider: overrides.llm?.provider,
    llmModel: overrides.llm?.modelPath,
    ollamaModel: overrides.llm?.ollamaModel,
    llmThreads: overrides.llm?.threads,
    stt: overrides.voice?.stt,
    whisperModel: overrides.voice?.whisperModel,
    embedder: overrides.documents?.embedder,
  };
}

/**
 * The saved settings of an encrypted profile: one row of the (encrypted) database instead of settings.json, written in
 * one transaction. A settings.json from before encryption is taken in once and then deleted.
 */
export class DatabaseSettingsStore implements SavedSettingsStore {
  readonly path: string;
  readonly #select;
  readonly #upsert;

  constructor(
    db: SqliteDatabase,
    databasePath: string,
    private readonly legacy: SavedSettingsFile,
  ) {
    this.path = `${databasePath} (saved settings, encrypted)`;
    // Created here rather than by a numbered migration: the table belongs to this store, as the embedding cache's does.
    db.exec('CREATE TABLE IF NOT EXISTS saved_settings (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL)');
    this.#select = db.prepare('SELECT json FROM saved_settings WHERE id = 1').pluck();
    this.#upsert = db.prepare('INSERT INTO saved_settings (id, json) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET json = excluded.json');
  }

  read(): SavedSettingsRead {
    const json = this.#select.get() as string | undefined;
    if (json !== undefined) return parseSavedSettings(json, this.path);
    const old = this.legacy.read();
    if (old.problem === undefined) {
      if (Object.keys(old.settings).length > 0) this.write(old.settings);
      // Now kept encrypted: the plaintext file goes (a damaged one stays, for the user to see what it held).
      rmSync(this.legacy.path, { force: true });
    }
    return old;
  }

  write(settings: SavedSettings): void {
    try {
      this.#upsert.run(JSON.stringify(SavedSettings.parse(settings)));
    } catch (error) {
      throw new AgentError('DATA_DIR_UNUSABLE', `Could not save the settings to ${this.path} (${(error as Error).message}).`);
    }
  }
}

export interface AppSettingsOptions {
  file: SavedSettingsStore;
  /** What was read at startup. */
  initial: SavedSettingsRead;
  /** The launch's config overrides: command-line flags (or a test's config). They beat everything. */
  flags: AgentConfigOverrides;
  env: NodeJS.ProcessEnv;
  /** For the effective defaults of the chat and Whisper models. */
  manifest: ModelManifest;
}

/**
 * The settings the app keeps, and the view of them the UI shows: what is saved, what is in effect (flag > env > saved >
 * default), and which flag or env var fixes a setting for this launch.
 */
export class AppSettings {
  private current: SavedSettings;
  private problem: string | undefined;

  constructor(private readonly options: AppSettingsOptions) {
    this.current = options.initial.settings;
    this.problem = options.initial.problem;
  }

  get saved(): SavedSettings {
    return this.current;
  }

  /** Merges `patch` into the saved settings and writes them; returns what is saved. */
  update(patch: SavedSettings): SavedSettings {
    const { voice: voicePatch, guards: guardsPatch, ...rest } = patch;
    const voice = voicePatch === undefined ? this.current.voice : keptVoice({ ...this.current.voice, ...voicePatch });
    const guards = guardsPatch === undefined ? this.current.guards : mergedGuards(this.current.guards ?? {}, guardsPatch);
    const { voice: _previousVoice, guards: _previousGuards, ...currentRest } = this.current;
    const next = SavedSettings.parse({
      ...currentRest,
      ...rest,
      ...(voice && Object.keys(voice).length > 0 && { voice }),
      ...(guards && Object.keys(guards).length > 0 && { guards }),
    });
    if (JSON.stringify(next) === JSON.stringify(this.current) && this.problem === undefined) return this.current;
    this.options.file.write(next);
    this.current = next;
    this.problem = undefined;
    return next;
  }

  /** Keeps the voice settings the voice session now has (after voice:configure). */
  saveVoice(settings: VoiceSettings): void {
    this.update({ voice: keptVoice(settings) });
  }

  view(): SettingsView {
    const { flags, env, manifest } = this.options;
    const fromEnv = readEnvSettings(env);
    const byFlag = overriddenByFlags(flags);
    const overriddenBy: Record<string, string> = {};
    for (const [key, name] of Object.entries(SAVED_AS) as [SavedKey, SettingName][]) {
      const spec: { env: string; flag?: string } = SETTINGS[name];
      if (byFlag[key] !== undefined) overriddenBy[key] = spec.flag ? `--${spec.flag}` : 'the launch options';
      else if (fromEnv[name] !== undefined) overriddenBy[key] = spec.env;
    }
    const effective = resolveAgentConfig(flags, env, savedSettingValues(this.current));
    return {
      saved: this.current,
      effective: {
        llmProvider: effective.llm.provider,
        llmModel: effective.llm.modelPath ?? defaultManifestEntry(manifest, 'llm')?.id ?? null,
        ollamaModel: effective.llm.ollamaModel,
        llmThreads: effective.llm.threads,
        stt: effective.voice.stt,
        whisperModel: effective.voice.whisperModel ?? defaultManifestEntry(manifest, 'stt-whisper')?.id ?? null,
      },
      overriddenBy,
      ...(this.problem !== undefined && { problem: this.problem }),
    };
  }
}

function keptVoice(settings: Partial<VoiceSettings>): Partial<VoiceSettings> {
  const kept: Record<string, unknown> = {};
  for (const key of KEPT_VOICE_SETTINGS) if (settings[key] !== undefined) kept[key] = settings[key];
  return VoiceSettings.partial().parse(kept);
}

/** Each guard's settings patched field by field: turning one guard off keeps the others' choices. */
function mergedGuards(current: GuardSettings, patch: GuardSettings): GuardSettings {
  const merged: Record<string, GuardSetting> = { ...current };
  for (const [name, setting] of Object.entries(patch)) if (setting) merged[name] = { ...merged[name], ...setting };
  return merged as GuardSettings;
}
