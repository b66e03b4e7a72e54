import { existsSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecoverableAgent, type RecoverableAgent } from '../src-main/app/recoverableAgent.node.js';
import { startHeadlessHost, type HeadlessHost } from '../src-main/host/headlessHost.node.js';
import { TEST_LLM_MODEL, tempDataDir } from '../src-main/testing/agentTestSupport.js';
import { sha256OfFile, writeDamagedBodyDatabase } from '../src-main/testing/badDataDirs.js';
import { RENDERER_BUILD_DIR } from './support/assistantHarness.js';
import { launchBrowser } from './support/browser.js';

describe('a damaged database in the app: the UI still comes up and can start fresh', () => {
  let dataDir: string;
  let databaseFile: string;
  let originalHash: string;
  let agent: RecoverableAgent;
  let host: HeadlessHost;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(path.join(RENDERER_BUILD_DIR, 'index.html'))) throw new Error(`The renderer is not built (${RENDERER_BUILD_DIR}); run "npm run build:renderer".`);
    dataDir = tempDataDir('assistant-e2e-corrupt-');
    databaseFile = writeDamagedBodyDatabase(dataDir);
    originalHash = sha256OfFile(databaseFile);
    // The same path as `assistant serve` and the Electron main: the agent does not throw, it starts in recovery mode.
    agent = createRecoverableAgent({
      config: {
        dataDir,
        voice: { enabled: false },
        llm: { provider: 'embedded', modelPath: process.env.ASSISTANT_LLM_MODEL || TEST_LLM_MODEL, threads: 1 },
      },
    });
    host = await startHeadlessHost({ agent, port: 0, staticDir: RENDERER_BUILD_DIR });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await host?.close();
    await agent?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('shows the problem with the path, "Move it aside and start fresh" keeps the file, and chat then works', async () => {
    const page = await browser.newPage();
    await page.goto(host.url);

    const banner = page.getByTestId('data-recovery-banner');
    await banner.waitFor({ timeout: 15_000 });
    expect(await banner.getAttribute('data-state')).toBe('corrupt');
    expect(await page.getByTestId('data-recovery-message').textContent()).toContain(databaseFile);
    const button = page.getByRole('button', { name: 'Move it aside and start fresh' });
    // Nothing was touched while the app only showed the problem.
    expect(sha256OfFile(databaseFile)).toBe(originalHash);

    await button.click();

    // The app reloads on the fresh database: the banner is gone, a note says where the old file went, the model warms.
    await page.getByTestId('data-recovery-banner').waitFor({ state: 'detached', timeout: 15_000 });
    const moved = readdirSync(dataDir).find((name) => /^assistant\.sqlite3\.corrupt-[\dT-]+Z$/.test(name));
    expect(moved).toBeDefined();
    const movedPath = path.join(dataDir, moved!);
    expect(sha256OfFile(movedPath)).toBe(originalHash);
    await expect.poll(() => page.getByTestId('data-moved-notice').textContent()).toContain(movedPath);
    await expect.poll(() => page.getByTestId('model-status').getAttribute('data-state'), { timeout: 30_000 }).toBe('warm');

    const input = page.getByTestId('question-input');
    await input.fill('Once upon a time there was a little red fox who');
    await input.press('Enter');
    await expect
      .poll(() => page.getByTestId('assistant-message').last().getAttribute('data-status'), { timeout: 30_000 })
      .toBe('complete');
    expect(((await page.getByTestId('assistant-text').last().textContent()) ?? '').length).toBeGreaterThan(0);
    expect(await page.getByTestId('conversation-item').count()).toBe(1);

    // The damaged file is still there, unchanged, under its new name; a fresh database took its place.
    expect(sha256OfFile(movedPath)).toBe(originalHash);
    expect(existsSync(databaseFile)).toBe(true);
    expect(sha256OfFile(databaseFile)).not.toBe(originalHash);
    await page.close();
  }, 120_000);
});
