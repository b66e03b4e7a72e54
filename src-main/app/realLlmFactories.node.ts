import path from 'node:path';
import { AgentError } from '../../src-shared/contract/index.js';
import type { AgentConfig } from '../agent/agentConfig.node.js';
import { EmbeddedLlamaProvider } from '../agent/llm/embeddedLlamaProvider.node.js';
import { ModelNotDownloadedError, type LlmProviderFactories } from '../agent/llm/llmProviderManager.node.js';
import { OllamaLlmProvider, probeOllama } from '../agent/llm/ollamaProvider.node.js';
import { OpenAiCompatibleLlmProvider } from '../agent/llm/openaiCompatibleProvider.node.js';
import { ModelChecksumRecord, modelChecksumRecordPath, requireManifestChecksum } from '../models/modelChecksums.node.js';
import { llmModelFixHint } from '../models/modelFixHint.node.js';
import { findManifestEntry } from '../models/modelManifest.js';
import { knownModelManifest } from '../models/modelManifest.node.js';
import { resolveDefaultModel, resolveModelPath } from '../models/modelResolver.node.js';

/**
 * The GGUF file the config names: a path (flag, env var, a saved file), a manifest id (saved by the app), else the
 * manifest's default chat model. A manifest model that is not downloaded throws ModelNotDownloadedError (the first run).
 */
export function configuredLlmModelPath(config: AgentConfig, savedIn?: string): string {
  const configured = config.llm.modelPath;
  const manifest = knownModelManifest();
  const entry = configured === undefined ? undefined : findManifestEntry(manifest, configured);
  if (configured !== undefined && entry === undefined) {
    // A saved choice that is neither a known id nor a path is not looked for under the current folder.
    if (savedIn !== undefined && !path.isAbsolute(configured)) {
      throw new AgentError(
        'MODEL_MISSING',
        `The chat model saved in ${savedIn} ("${configured}") is not a known model id. Choose a model in the Models panel, or remove "llmModel" from that file.`,
      );
    }
    return configured;
  }
  const resolution = entry === undefined ? resolveDefaultModel('llm', { manifest }) : resolveModelPath(entry.id, { manifest });
  if (resolution.found) return resolution.path;
  const missingId = resolution.id;
  if (findManifestEntry(manifest, missingId) && resolution.looked.every((place) => place.source !== 'env')) {
    throw new ModelNotDownloadedError(missingId, resolution.message);
  }
  throw new AgentError('MODEL_MISSING', resolution.message);
}

/**
 * The real provider factories for a config: embedded GGUF via node-llama-cpp, Ollama via its HTTP API. `savedIn`: the
 * settings file the chat model was chosen in (not a flag or env var), so a broken choice is reported with its fix.
 */
export function realLlmFactories(config: AgentConfig, savedIn?: string): LlmProviderFactories {
  const savedHint = (modelPath: string) =>
    `It was chosen in the app (saved in ${savedIn}): choose another model in the Models panel, or remove "llmModel" from that file. ${llmModelFixHint(modelPath)}`;
  // A manifest model's sha256 is checked once per path, size and mtime, remembered in the profile.
  const checksums = new ModelChecksumRecord(modelChecksumRecordPath(config.dataDir));
  return {
    createEmbedded: (chosenPath) =>
      new EmbeddedLlamaProvider({
        modelPath: path.resolve(chosenPath ?? configuredLlmModelPath(config, savedIn)),
        threads: config.llm.threads,
        contextSize: config.llm.contextSize,
        fixHint: savedIn !== undefined && chosenPath === undefined ? savedHint : llmModelFixHint,
        verifyFile: (modelPath) => requireManifestChecksum(modelPath, checksums),
      }),
    createOllama: (model) =>
      new OllamaLlmProvider({ host: config.llm.ollamaHost, model: model ?? config.llm.ollamaModel, keepAlive: config.llm.ollamaKeepAlive }),
    createOpenAi: (model) =>
      new OpenAiCompatibleLlmProvider({
        baseUrl: config.llm.openaiBaseUrl,
        model: model ?? config.llm.openaiModel ?? '',
        contextTokens: config.llm.contextSize,
      }),
    probeOllama: () => probeOllama(config.llm.ollamaHost, config.llm.ollamaModel, config.llm.ollamaProbeTimeoutMs),
  };
}
