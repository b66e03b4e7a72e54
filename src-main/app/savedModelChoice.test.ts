import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../agent/agentLogger.js';
import { tempDataDir } from '../testing/agentTestSupport.js';
import { createAgent } from './createAgent.node.js';

/** The status of an agent started on a data dir whose settings.json chose `llmModel` (no flag, no env var). */
async function statusWithSavedChatModel(llmModel: string) {
  const dataDir = tempDataDir();
  const settingsPath = path.join(dataDir, 'settings.json');
  writeFileSync(settingsPath, JSON.stringify({ llmModel, llmProvider: 'embedded' }));
  const agent = createAgent({ config: { dataDir, voice: { enabled: false } }, logger: silentLogger });
  try {
    await agent.whenReady();
    return { status: (await agent.call('agent:status')).llm, settingsPath };
  } finally {
    await agent.close();
  }
}

describe('a broken chat model saved in settings.json is reported as such, with its fix', () => {
  it.skipIf(Boolean(process.env.ASSISTANT_LLM_MODEL))('a saved path that does not exist names settings.json and the Models panel', async () => {
    const { status, settingsPath } = await statusWithSavedChatModel('/nonexistent/chat.gguf');
    expect(status.state).not.toBe('warm');
    expect(status.message).toContain(settingsPath);
    expect(status.message).toContain('Models panel');
  });

  it.skipIf(Boolean(process.env.ASSISTANT_LLM_MODEL))('a saved name that is no known model id is not looked for under the current folder', async () => {
    const { status, settingsPath } = await statusWithSavedChatModel('no-such-model');
    expect(status.state).not.toBe('warm');
    expect(status.message).toContain(`The chat model saved in ${settingsPath} ("no-such-model") is not a known model id`);
    expect(status.message).not.toContain(path.join(process.cwd(), 'no-such-model'));
  });
});
