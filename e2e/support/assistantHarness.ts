import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentConfigOverrides } from '../../src-main/agent/agentConfig.node.js';
import { createAgent } from '../../src-main/app/createAgent.node.js';
import { startHeadlessHost, type HeadlessHost } from '../../src-main/host/headlessHost.node.js';
import { TEST_LLM_MODEL } from '../../src-main/testing/agentTestSupport.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const RENDERER_BUILD_DIR = path.join(projectRoot, 'build', 'renderer');

export interface RunningAssistant {
  host: HeadlessHost;
  agent: ReturnType<typeof createAgent>;
  dataDir: string;
  close(): Promise<void>;
}

/**
 * The real agent (stories260K on node-llama-cpp, SQLite in a fresh temp data dir) behind the real headless host,
 * serving the built renderer. The e2e tests build nothing: `npm test` builds first. `overrides` adjust the agent's
 * config (voice engines, answer length); the data dir is always a fresh one.
 */
export async function startAssistant(overrides: AgentConfigOverrides = {}): Promise<RunningAssistant> {
  if (!existsSync(path.join(RENDERER_BUILD_DIR, 'index.html'))) {
    throw new Error(
      `The renderer is not built (${RENDERER_BUILD_DIR}/index.html is missing). Run \`npm run build:renderer\` (or \`npm test\`, which builds first).`,
    );
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'assistant-e2e-'));
  const agent = createAgent({
    config: {
      ...overrides,
      dataDir,
      llm: { provider: 'embedded', modelPath: process.env.ASSISTANT_LLM_MODEL || TEST_LLM_MODEL, threads: 1, ...overrides.llm },
    },
  });
  await agent.whenReady();
  const host = await startHeadlessHost({ agent, port: 0, staticDir: RENDERER_BUILD_DIR });
  return {
    host,
    agent,
    dataDir,
    async close() {
      await host.close();
      await agent.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
