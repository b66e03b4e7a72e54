import path from 'node:path';
import { AgentError } from '../../src-shared/contract/index.js';
import type { AgentConfig } from '../agent/agentConfig.node.js';
import { EmbeddedLlamaProvider } from '../agent/llm/embeddedLlamaProvider.node.js';
import type { LlmProviderFactories } from '../agent/llm/llmProviderManager.node.js';
import { OllamaLlmProvider, probeOllama } from '../agent/llm/ollamaProvider.node.js';
import { llmModelFixHint } from '../models/modelFixHint.node.js';
import { resolveDefaultModel } from '../models/modelResolver.node.js';

/** The real provider factories for a config: embedded GGUF via node-llama-cpp, Ollama via its HTTP API. */
export function realLlmFactories(config: AgentConfig): LlmProviderFactories {
  return {
    createEmbedded: () => {
      let modelPath = config.llm.modelPath;
      if (modelPath === undefined) {
        const resolution = resolveDefaultModel('llm');
        if (!resolution.found) throw new AgentError('MODEL_MISSING', resolution.message);
        modelPath = resolution.path;
      }
      return new EmbeddedLlamaProvider({
        modelPath: path.resolve(modelPath),
        threads: config.llm.threads,
        contextSize: config.llm.contextSize,
        fixHint: llmModelFixHint,
      });
    },
    createOllama: () =>
      new OllamaLlmProvider({ host: config.llm.ollamaHost, model: config.llm.ollamaModel, keepAlive: config.llm.ollamaKeepAlive }),
    probeOllama: () => probeOllama(config.llm.ollamaHost, config.llm.ollamaModel, config.llm.ollamaProbeTimeoutMs),
  };
}
