import { describe, expect, it } from 'vitest';
import { silentLogger } from '../agent/agentLogger.js';
import { TEST_LLM_MODEL, tempDataDir } from '../testing/agentTestSupport.js';
import { createAgent } from './createAgent.node.js';

describe('models:list (real agent, real stories260K)', () => {
  it('always shows the model answering now, even one the catalogue keeps for tests', async () => {
    const agent = createAgent({
      config: { dataDir: tempDataDir(), voice: { enabled: false }, llm: { provider: 'embedded', modelPath: TEST_LLM_MODEL, threads: 1 } },
      logger: silentLogger,
    });
    try {
      await agent.whenReady();
      const { models } = await agent.call('models:list');
      const active = models.filter((model) => model.role === 'llm' && model.state === 'active');
      expect(active).toHaveLength(1);
      expect(active[0]!.path).toBe(TEST_LLM_MODEL);
    } finally {
      await agent.close();
    }
  });
});
