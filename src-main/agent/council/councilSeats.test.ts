import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../agentLogger.js';
import type { LlmProvider } from '../llm/llmProvider.js';
import type { LlmProviderFactories } from '../llm/llmProviderManager.node.js';
import { TEST_LLM_MODEL } from '../../testing/agentTestSupport.js';
import { CouncilSeats } from './councilSeats.node.js';

/** Factories that must not be reached: the memory check refuses before anything loads. */
const unreachable: LlmProviderFactories = {
  createEmbedded: () => {
    throw new Error('loaded although the memory check should have refused');
  },
  createOllama: () => {
    throw new Error('not used');
  },
  probeOllama: async () => ({ reachable: false, hasModel: false }),
};
const chatModel = async (): Promise<LlmProvider> => {
  throw new Error('not used');
};

describe('CouncilSeats: free memory before loading embedded members', () => {
  it('refuses with a clear message when the models would not fit in the free memory, before loading any', async () => {
    const seats = new CouncilSeats({ factories: unreachable, chatModel, logger: silentLogger, freeMemory: () => 200 * 1024 * 1024 });
    const error = await seats.seat({ members: [TEST_LLM_MODEL, `${TEST_LLM_MODEL}`], chairman: 'balanced' }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'INVALID_SETTING', message: expect.stringMatching(/need about \d+\.\d GiB of memory to load and 0\.2 GiB is free/) });
  });

  it('counts a model listed twice once (one loaded model serves both members)', async () => {
    const size = statSync(TEST_LLM_MODEL).size;
    // Room for one copy (and its context), not two.
    const free = (size + 256 * 1024 * 1024) / 0.8 + 1024;
    let loads = 0;
    const factories: LlmProviderFactories = {
      ...unreachable,
      createEmbedded: (modelPath) => {
        loads += 1;
        return { kind: 'embedded', modelId: String(modelPath), contextTokens: 512, load: async () => undefined, generate: async () => ({ text: '', tokens: 0, aborted: false }), countTokens: () => 1, dispose: async () => undefined };
      },
    };
    const seats = new CouncilSeats({ factories, chatModel, logger: silentLogger, freeMemory: () => free });
    const seated = await seats.seat({ members: [TEST_LLM_MODEL, TEST_LLM_MODEL] , chairman: TEST_LLM_MODEL });
    expect(seated.members.map((member) => member.label)).toEqual([`${TEST_LLM_MODEL} #1`, `${TEST_LLM_MODEL} #2`]);
    expect(loads).toBe(1);
  });

  it('refuses an unknown kind of member by name', async () => {
    const seats = new CouncilSeats({ factories: unreachable, chatModel, logger: silentLogger });
    await expect(seats.seat({ members: ['anthropic:claude'] })).rejects.toMatchObject({ code: 'INVALID_SETTING', message: expect.stringContaining('"anthropic:claude"') });
  });
});
