import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AgentConfigOverrides } from '../../src-main/agent/agentConfig.node.js';
import { createAgent } from '../../src-main/app/createAgent.node.js';
import { startHeadlessHost } from '../../src-main/host/headlessHost.node.js';
import { TEST_LLM_MODEL } from '../../src-main/testing/agentTestSupport.js';
import { RENDERER_BUILD_DIR, type RunningAssistant } from './assistantHarness.js';

/** The real stories260K GGUF, as the environment notes give it. */
export const STORIES_SHA256 = '270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d';
export const STORIES_SIZE_BYTES = 1_185_376;

export function readTestModelBytes(): Promise<Buffer> {
  return readFile(TEST_LLM_MODEL);
}

/** One entry of a model manifest (the schema of models/manifest.json). */
export interface TestManifestEntry {
  id: string;
  role: 'llm' | 'stt-whisper' | 'vad';
  file: string;
  url: string;
  sizeBytes: number;
  sha256: string | null;
  license: string;
  description: string;
  default?: true;
  testOnly?: true;
}

/** A chat model entry for stories260K under `id`, downloaded from `url`. */
export function storiesEntry(id: string, url: string, extra: Partial<TestManifestEntry> = {}): TestManifestEntry {
  return {
    id,
    role: 'llm',
    file: `llm/${id}.gguf`,
    url,
    sizeBytes: STORIES_SIZE_BYTES,
    sha256: STORIES_SHA256,
    license: 'MIT',
    description: `Stories test model ${id}, served from a local test server.`,
    ...extra,
  };
}

/** A URL on 127.0.0.1 where nothing listens: a port that was free a moment ago. */
export async function unreachableUrl(fileName = 'model.gguf'): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/${fileName}`;
}

/** The folders a first-run test keeps across host restarts: data, downloaded models and the user manifest. */
export interface FirstRunFolders {
  root: string;
  dataDir: string;
  modelsDir: string;
  manifestPath: string;
  writeManifest(entries: TestManifestEntry[]): Promise<void>;
  /** Puts a copy of the test model where a download of `entry` would go, as if it had been downloaded before. */
  placeModel(entry: TestManifestEntry): Promise<string>;
  remove(): Promise<void>;
}

export async function createFirstRunFolders(entries: TestManifestEntry[]): Promise<FirstRunFolders> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'assistant-first-run-'));
  const folders: FirstRunFolders = {
    root,
    dataDir: path.join(root, 'data'),
    modelsDir: path.join(root, 'models'),
    manifestPath: path.join(root, 'manifest.json'),
    async writeManifest(list) {
      await writeFile(folders.manifestPath, `${JSON.stringify(list, null, 2)}\n`);
    },
    async placeModel(entry) {
      const destination = path.join(folders.modelsDir, entry.file);
      await mkdir(path.dirname(destination), { recursive: true });
      await copyFile(TEST_LLM_MODEL, destination);
      return destination;
    },
    remove: () => rm(root, { recursive: true, force: true }),
  };
  await mkdir(folders.dataDir, { recursive: true });
  await mkdir(folders.modelsDir, { recursive: true });
  await folders.writeManifest(entries);
  return folders;
}

/** Env vars that would hand the agent a model or another manifest: cleared for the launch, restored after. */
const MODEL_ENV_VARS = [
  'ASSISTANT_LLM_MODEL',
  'ASSISTANT_MODELS_MANIFEST',
  'ASSISTANT_MODELS_DIR',
  'ASSISTANT_LLM_PROVIDER',
  'ASSISTANT_OLLAMA_MODEL',
  'ASSISTANT_STT',
  'ASSISTANT_WHISPER_MODEL',
  'OLLAMA_HOST',
];

/**
 * The real agent and headless host as a new user's first launch has them: no model path at all, the models dir and the
 * manifest given as ASSISTANT_MODELS_DIR and ASSISTANT_MODELS_MANIFEST (the test's folders), so the default chat model
 * is whatever the test manifest says and is looked for only there. Closing keeps the folders, so a second launch on
 * the same folders is the app started again. `env` adds env vars for the launch (e.g. OLLAMA_HOST).
 */
export async function startAssistantWithoutModel(
  folders: FirstRunFolders,
  options: { config?: AgentConfigOverrides; env?: Record<string, string> } = {},
): Promise<RunningAssistant> {
  const saved = new Map(MODEL_ENV_VARS.map((name) => [name, process.env[name]]));
  for (const name of MODEL_ENV_VARS) delete process.env[name];
  // Nothing answers on this port: "auto" finds no Ollama quickly, unless the test gives one.
  process.env.OLLAMA_HOST = (await unreachableUrl('')).replace(/\/$/, '');
  process.env.ASSISTANT_MODELS_MANIFEST = folders.manifestPath;
  process.env.ASSISTANT_MODELS_DIR = folders.modelsDir;
  Object.assign(process.env, options.env);
  const restoreEnv = () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  const { config = {} } = options;
  let agent: ReturnType<typeof createAgent>;
  try {
    agent = createAgent({
      config: {
        ...config,
        dataDir: folders.dataDir,
        voice: { enabled: false, ...config.voice },
        llm: { threads: 1, ...config.llm },
      },
    });
  } catch (error) {
    restoreEnv();
    throw error;
  }
  await agent.whenReady();
  const host = await startHeadlessHost({ agent, port: 0, staticDir: RENDERER_BUILD_DIR });
  return {
    host,
    agent,
    dataDir: folders.dataDir,
    async close() {
      try {
        await host.close();
        await agent.close();
      } finally {
        restoreEnv();
      }
    },
  };
}
