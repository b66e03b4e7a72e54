import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentError } from '../../src-shared/contract/index.js';
import { loadModelManifest } from './modelManifest.node.js';
import { projectRoot, sharedModelsDir } from './projectPaths.node.js';
import { describeModels, requireModelPath, resolveDefaultModel, resolveModelPath, type ModelLocationOptions } from './modelResolver.node.js';

const manifest = loadModelManifest();
const WHISPER_FILE = 'whisper/ggml-base.en.bin';

/**
 * A throwaway layout: <tmp>/project/models, <tmp>/shared/models (the project's ../shared/models),
 * <tmp>/custom-models (for ASSISTANT_MODELS_DIR / --models-dir) and <tmp>/elsewhere (for env paths).
 */
let tmp: string;
let project: string;
const place = (...parts: string[]) => path.join(tmp, ...parts);

function putFile(file: string, bytes = 16): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, Buffer.alloc(bytes, 1));
  return file;
}

function options(extra: ModelLocationOptions & { explicitPath?: string } = {}) {
  return { manifest, projectRoot: project, env: {}, ...extra };
}

beforeEach(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'model-resolver-'));
  project = place('project');
  mkdirSync(project);
});

afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe('resolveModelPath', () => {
  it('prefers the env var, then the models dir, then the project, then shared', () => {
    const shared = putFile(place('shared', 'models', WHISPER_FILE));
    const inProject = putFile(place('project', 'models', WHISPER_FILE));
    const inModelsDir = putFile(place('custom-models', WHISPER_FILE));
    const fromEnv = putFile(place('elsewhere', 'my-whisper.bin'));
    const env = { ASSISTANT_WHISPER_MODEL: fromEnv, ASSISTANT_MODELS_DIR: place('custom-models') };

    expect(resolveModelPath('whisper-base-en', options({ env }))).toMatchObject({ found: true, path: fromEnv, source: 'env' });
    rmSync(fromEnv);
    delete (env as Partial<typeof env>).ASSISTANT_WHISPER_MODEL;
    expect(resolveModelPath('whisper-base-en', options({ env }))).toMatchObject({ found: true, path: inModelsDir, source: 'models-dir' });
    rmSync(inModelsDir);
    expect(resolveModelPath('whisper-base-en', options({ env }))).toMatchObject({ found: true, path: inProject, source: 'project' });
    rmSync(inProject);
    expect(resolveModelPath('whisper-base-en', options({ env }))).toMatchObject({ found: true, path: shared, source: 'shared' });
  });

  it('lets an explicit path beat the env var, and --models-dir beat ASSISTANT_MODELS_DIR', () => {
    const explicit = putFile(place('flag', 'whisper.bin'));
    const fromEnv = putFile(place('elsewhere', 'my-whisper.bin'));
    const flagDir = putFile(place('flag-models', WHISPER_FILE));
    putFile(place('custom-models', WHISPER_FILE));

    expect(resolveModelPath('whisper-base-en', options({ env: { ASSISTANT_WHISPER_MODEL: fromEnv }, explicitPath: explicit }))).toMatchObject({
      path: explicit,
      source: 'path',
    });
    expect(resolveModelPath(explicit, options())).toMatchObject({ found: true, id: null, path: explicit, source: 'path' });
    expect(
      resolveModelPath('whisper-base-en', options({ env: { ASSISTANT_MODELS_DIR: place('custom-models') }, modelsDir: place('flag-models') })),
    ).toMatchObject({ path: flagDir, source: 'models-dir' });
  });

  it('uses the env var of the model role only', () => {
    const inProject = putFile(place('project', 'models', WHISPER_FILE));
    const llm = putFile(place('elsewhere', 'chat.gguf'));
    expect(resolveModelPath('whisper-base-en', options({ env: { ASSISTANT_LLM_MODEL: llm } }))).toMatchObject({ path: inProject });
  });

  it('when missing, lists every place it looked and the exact command that fixes it', () => {
    const result = resolveModelPath('whisper-base-en', options({ env: { ASSISTANT_MODELS_DIR: place('custom-models') } }));

    expect(result.found).toBe(false);
    if (result.found) return;
    expect(result.fix).toBe('npx assistant models pull whisper-base-en');
    expect(result.looked.map((looked) => looked.path)).toEqual([
      place('custom-models', WHISPER_FILE),
      place('project', 'models', WHISPER_FILE),
      place('shared', 'models', WHISPER_FILE),
    ]);
    for (const looked of result.looked) expect(result.message).toContain(looked.path);
    expect(result.message).toContain('"npx assistant models pull whisper-base-en"');
    expect(result.message).toContain(`copy ggml-base.en.bin to ${place('custom-models', WHISPER_FILE)}`);
  });

  it('reports an env var pointing at nothing instead of quietly using another file', () => {
    putFile(place('project', 'models', WHISPER_FILE));
    const result = resolveModelPath('whisper-base-en', options({ env: { ASSISTANT_WHISPER_MODEL: place('typo.bin') } }));
    expect(result).toMatchObject({ found: false, fix: 'npx assistant models pull whisper-base-en' });
    expect(!result.found && result.message).toContain(`$ASSISTANT_WHISPER_MODEL points to ${place('typo.bin')}`);
  });

  it('says an env var or path that points at a directory is a directory, not that it does not exist', () => {
    const whisperDir = place('elsewhere', 'whisper');
    putFile(path.join(whisperDir, 'ggml-small.bin'));
    const fromEnv = resolveModelPath('whisper-base-en', options({ env: { ASSISTANT_WHISPER_MODEL: whisperDir } }));
    expect(fromEnv.found).toBe(false);
    const message = !fromEnv.found ? fromEnv.message : '';
    expect(message).toContain(`$ASSISTANT_WHISPER_MODEL is set, but ${whisperDir} is a directory; it needs to be a .bin model file, e.g. ${path.join(whisperDir, 'ggml-small.bin')}`);
    expect(message).not.toContain('does not exist');
    const explicit = resolveModelPath('whisper-base-en', options({ explicitPath: `${whisperDir}/` }));
    expect(!explicit.found && explicit.message).toContain(`${whisperDir} is a directory;`);
  });

  it('names the known models for an unknown id', () => {
    const result = resolveModelPath('whisper-huge', options());
    expect(result.found).toBe(false);
    expect(!result.found && result.message).toContain('whisper-base-en');
  });

  it('throws MODEL_MISSING with the full explanation from requireModelPath', () => {
    let caught: unknown;
    try {
      requireModelPath('silero-vad', options());
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AgentError);
    expect((caught as AgentError).code).toBe('MODEL_MISSING');
    expect((caught as AgentError).message).toContain('npx assistant models pull silero-vad');
  });

  it('resolves the default of a role', () => {
    const vad = putFile(place('shared', 'models', 'vad', 'silero-v6.2.0-ggml.bin'));
    expect(resolveDefaultModel('vad', options())).toMatchObject({ found: true, id: 'silero-vad', path: vad });
  });

  it('finds the real stories260K test model from this checkout', () => {
    const result = resolveModelPath('stories260k', { env: {} });
    expect(result.found).toBe(true);
    expect(result.found && result.path).toMatch(/llm[/\\]stories260K\.gguf$/);
    expect(result.found && [path.join(projectRoot(), 'models'), sharedModelsDir()].some((dir) => result.path.startsWith(dir))).toBe(true);
  });
});

describe('describeModels', () => {
  it('lists every manifest model with found or missing, path and size', () => {
    const vad = putFile(place('shared', 'models', 'vad', 'silero-v6.2.0-ggml.bin'), 885098);
    const truncated = putFile(place('project', 'models', 'llm', 'stories260K.gguf'), 1000);
    const override = place('elsewhere', 'missing.gguf');

    const { models, overrides, downloadDir } = describeModels(options({ env: { ASSISTANT_LLM_MODEL: override } }));

    expect(models.map((model) => model.entry.id)).toEqual(manifest.map((entry) => entry.id));
    expect(models.find((model) => model.entry.id === 'silero-vad')).toMatchObject({
      found: true,
      path: vad,
      source: 'shared',
      sizeOnDisk: 885098,
      sizeMatches: true,
    });
    expect(models.find((model) => model.entry.id === 'stories260k')).toMatchObject({ found: true, path: truncated, sizeMatches: false });
    expect(models.find((model) => model.entry.id === 'whisper-tiny-en')).toMatchObject({
      found: false,
      path: place('project', 'models', 'whisper', 'ggml-tiny.en.bin'),
      sizeOnDisk: null,
    });
    expect(overrides).toEqual([{ role: 'llm', envVar: 'ASSISTANT_LLM_MODEL', path: override, exists: false }]);
    expect(downloadDir).toBe(place('project', 'models'));
  });
});
