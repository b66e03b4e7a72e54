import { createHash, randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentEvent, DoneEvent } from '../src-shared/contract/index.js';
import { startRangeFileServer, type RangeFileServer } from '../src-main/testing/rangeFileServer.node.js';
import { ask, recordEachState, untilWarm } from './support/appInBrowser.js';
import type { RunningAssistant } from './support/assistantHarness.js';
import { launchBrowser } from './support/browser.js';
import {
  createFirstRunFolders,
  readTestModelBytes,
  startAssistantWithoutModel,
  storiesEntry,
  unreachableUrl,
  type FirstRunFolders,
} from './support/firstRunHarness.js';
import { TEST_LLM_MODEL } from '../src-main/testing/agentTestSupport.js';
import { OllamaProtocolServer } from '../src-main/testing/ollamaProtocolServer.node.js';

/** The test manifest's default chat model: stories260K under another name, downloaded from a local server. */
const CHAT_ID = 'first-run-chat';
/** A second copy of stories260K, to switch to at runtime. */
const OTHER_ID = 'stories-copy';
const QUESTION = 'Once upon a time there was a little red fox who';

type MarkedWindow = Window & { pageId: number };

/** Records every state of the download bars the user saw (read back with the function returned). */
function watchDownloads(page: Page) {
  return recordEachState(page, () =>
    [...document.querySelectorAll<HTMLElement>('[data-testid="download-progress"]')].map((bar) => ({
      text: bar.querySelector('[data-testid="download-progress-text"]')?.textContent ?? '',
      percent: bar.querySelector('[role="progressbar"]')?.getAttribute('aria-valuenow') ?? null,
    })),
  );
}

/** Marks the page, so a reload would show: returns the mark, which `pageId` reads back until the page reloads. */
const markPage = (page: Page) => page.evaluate(() => ((window as unknown as MarkedWindow).pageId = Math.random()));
const pageId = (page: Page) => page.evaluate(() => (window as unknown as MarkedWindow).pageId);

/** How many times `text` is on screen (in the visible text of the page). */
const timesShown = (page: Page, text: string) =>
  page.evaluate((needle) => document.body.innerText.split(needle).length - 1, text);

/** The page's last answer once it is complete; fails on an answer that ended otherwise. */
async function answered(page: Page): Promise<string> {
  const answer = page.getByTestId('assistant-message').last();
  await expect.poll(() => answer.getAttribute('data-status'), { timeout: 30_000 }).toBe('complete');
  return (await answer.getByTestId('assistant-text').textContent()) ?? '';
}

function recordEvents(assistant: RunningAssistant): AgentEvent[] {
  const events: AgentEvent[] = [];
  assistant.agent.listen((event) => events.push(event));
  return events;
}

describe('first run and models in the browser, against the real agent, host and downloads', () => {
  let browser: Browser;
  let modelBytes: Buffer;
  let server: RangeFileServer | undefined;
  let ollama: OllamaProtocolServer | undefined;
  let folders: FirstRunFolders | undefined;
  let assistant: RunningAssistant | undefined;
  let page: Page | undefined;

  beforeAll(async () => {
    modelBytes = await readTestModelBytes();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
  });

  afterEach(async () => {
    await page?.close();
    page = undefined;
    await assistant?.close();
    assistant = undefined;
    await server?.close();
    server = undefined;
    await ollama?.close();
    ollama = undefined;
    await folders?.remove();
    folders = undefined;
  });

  async function openApp(running: RunningAssistant): Promise<Page> {
    page = await browser.newPage();
    await page.goto(running.host.url);
    await page.locator('[data-testid="model-status"]:not([data-state="unknown"])').waitFor();
    return page;
  }

  it('offers the missing default chat model instead of an error, downloads it with progress (Cancel keeps what arrived), and answers in the same page', async () => {
    server = await startRangeFileServer(modelBytes, `${CHAT_ID}.gguf`);
    // 19 chunks of 64 KiB, 150 ms apart: about three seconds of download to watch.
    server.behaviour.chunkDelayMs = 150;
    folders = await createFirstRunFolders([storiesEntry(CHAT_ID, server.url, { default: true })]);
    assistant = await startAssistantWithoutModel(folders);
    const status = await assistant.agent.call('agent:status');
    expect(status.llm.state).toBe('missing');

    const app = await openApp(assistant);
    const card = app.getByTestId('first-run-card');
    await card.waitFor();
    expect(await app.getByTestId('first-run-model').getAttribute('data-model-id')).toBe(CHAT_ID);
    expect(await app.getByTestId('first-run-model-facts').textContent()).toBe('1.1 MB · MIT license');
    expect(await app.getByTestId('first-run-download').textContent()).toBe('Download (1.1 MB)');
    expect(await app.getByTestId('model-file-open').isVisible()).toBe(true);
    // No Ollama here: the card does not offer it.
    expect(await app.getByTestId('first-run-ollama').count()).toBe(0);
    // The card replaces the red error: the agent's "not found" message is nowhere on screen, and nothing is red.
    expect(status.llm.message).toBeTruthy();
    expect(await timesShown(app, status.llm.message!)).toBe(0);
    expect(await app.getByTestId('error-banner').count()).toBe(0);
    expect(await app.locator('.model-status-message').count()).toBe(0);
    expect(await app.getByTestId('send-button').isDisabled()).toBe(true);

    const progressSnapshots = await watchDownloads(app);
    const before = await markPage(app);
    await app.getByTestId('first-run-download').click();

    // Cancel part-way: the bar goes, and what arrived is kept for the next try.
    const bar = app.getByTestId('download-progress');
    await expect.poll(async () => Number(await bar.getAttribute('data-received-bytes'))).toBeGreaterThan(0);
    await app.getByTestId('download-cancel').click();
    await bar.waitFor({ state: 'detached' });
    await expect.poll(() => app.getByTestId('first-run-download').textContent()).toBe('Resume download');
    expect(await app.getByTestId('first-run-resume-note').textContent()).toMatch(/^\d+ KB of 1\.1 MB already downloaded$/);

    await app.getByTestId('first-run-download').click();
    await bar.waitFor();
    await card.waitFor({ state: 'detached', timeout: 60_000 });
    await untilWarm(app, 30_000);
    expect(await app.getByTestId('model-status').textContent()).toContain(CHAT_ID);

    // The bar moved: some states between 0 and 100 %, each saying how much of the 1.1 MB arrived, with a speed and
    // time left once they were known.
    const seen = await progressSnapshots();
    const percents = [...new Set(seen.map((snapshot) => Number(snapshot.percent)))];
    expect(percents.filter((percent) => percent > 0 && percent < 100).length).toBeGreaterThanOrEqual(2);
    expect(seen.some((snapshot) => / of 1\.1 MB · [\d.]+ (KB|MB)\/s · \d+ s left$/.test(snapshot.text))).toBe(true);

    await ask(app, QUESTION);
    expect((await answered(app)).length).toBeGreaterThan(0);
    // Same page all along: no reload, no restart.
    expect(await pageId(app)).toBe(before);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]?.range).toMatch(/^bytes=[1-9]\d*-$/);
  });

  it('resumes an interrupted download where it stopped after the app is started again', async () => {
    server = await startRangeFileServer(modelBytes, `${CHAT_ID}.gguf`);
    // A slow server (64 KiB every 250 ms): the app is closed part-way through the download.
    server.behaviour.chunkDelayMs = 250;
    folders = await createFirstRunFolders([storiesEntry(CHAT_ID, server.url, { default: true })]);
    assistant = await startAssistantWithoutModel(folders);
    let app = await openApp(assistant);
    await app.getByTestId('first-run-download').click();
    const firstAgent = assistant.agent;
    const receivedBytes = async () => (await firstAgent.call('models:list')).models.find((model) => model.id === CHAT_ID)?.receivedBytes ?? 0;
    await expect.poll(receivedBytes, { timeout: 20_000 }).toBeGreaterThan(200_000);
    await expect.poll(async () => Number(await app.getByTestId('download-progress').getAttribute('data-received-bytes'))).toBeGreaterThan(0);

    await app.close();
    await assistant.close();
    server.behaviour = {};

    assistant = await startAssistantWithoutModel(folders);
    const kept = (await assistant.agent.call('models:list')).models.find((model) => model.id === CHAT_ID);
    expect(kept?.state).toBe('missing');
    const keptBytes = kept?.receivedBytes ?? 0;
    expect(keptBytes).toBeGreaterThan(200_000);
    expect(keptBytes).toBeLessThan(modelBytes.length);
    app = await openApp(assistant);
    await app.getByTestId('first-run-card').waitFor();
    expect(await app.getByTestId('first-run-resume-note').textContent()).toBe(`${Math.round(keptBytes / 1024)} KB of 1.1 MB already downloaded`);
    expect(await app.getByTestId('first-run-download').textContent()).toBe('Resume download');
    await app.getByTestId('first-run-download').click();

    await app.getByTestId('first-run-card').waitFor({ state: 'detached', timeout: 60_000 });
    await untilWarm(app, 30_000);
    // The second launch asked only for the rest, and the rest is all that was sent.
    expect(server.requests.map((request) => request.range)).toEqual([undefined, `bytes=${keptBytes}-`]);
    expect(server.requests[1]).toMatchObject({ status: 206, bytesSent: modelBytes.length - keptBytes });
    await ask(app, QUESTION);
    expect((await answered(app)).length).toBeGreaterThan(0);
  });

  it('says once, briefly, what to do when the server cannot be reached, and a model file of your own works instead', async () => {
    folders = await createFirstRunFolders([storiesEntry(CHAT_ID, await unreachableUrl(), { default: true })]);
    assistant = await startAssistantWithoutModel(folders);
    const events = recordEvents(assistant);
    const app = await openApp(assistant);
    await app.getByTestId('first-run-download').click();

    const failure = app.getByTestId('first-run-failure');
    await failure.waitFor({ timeout: 20_000 });
    const message = (await failure.textContent()) ?? '';
    const failed = events.find((event) => event.type === 'model-progress' && event.state === 'failed');
    expect(failed && 'message' in failed && failed.message).toBe(message);
    // One short sentence naming the file and the folder to copy it to: no stack trace, no error class.
    expect(message).toContain(`${CHAT_ID}.gguf`);
    expect(message).toContain(folders.modelsDir);
    expect(message).not.toMatch(/TypeError|Error:|\n|\bat \S+ \(/);
    expect(message.length).toBeLessThan(300);
    // Once: not also in a banner, the status badge or the models panel.
    expect(await timesShown(app, message)).toBe(1);
    expect(await app.getByTestId('error-banner').count()).toBe(0);
    await app.getByTestId('models-button').click();
    await app.getByTestId('models-panel').waitFor();
    expect(await app.locator(`[data-testid="model-row"][data-model-id="${CHAT_ID}"]`).getAttribute('data-state')).toBe('missing');
    expect(await timesShown(app, message)).toBe(1);
    await app.getByTestId('models-button').click();

    // Retry is offered, and so is a model file of one's own.
    expect(await app.getByTestId('first-run-download').textContent()).toBe('Retry');
    await app.getByTestId('model-file-open').click();
    await app.getByTestId('model-file-path').fill(TEST_LLM_MODEL);
    await app.getByTestId('model-file-use').click();
    await app.getByTestId('first-run-card').waitFor({ state: 'detached', timeout: 30_000 });
    await untilWarm(app);
    await ask(app, QUESTION);
    expect((await answered(app)).length).toBeGreaterThan(0);
  });

  it('switches the chat model at runtime from the models panel, and the next answer comes from the new one', async () => {
    server = await startRangeFileServer(modelBytes, `${OTHER_ID}.gguf`);
    const chat = storiesEntry(CHAT_ID, await unreachableUrl(), { default: true });
    folders = await createFirstRunFolders([chat, storiesEntry(OTHER_ID, server.url)]);
    // The default chat model was downloaded before: the app starts warm with it.
    await folders.placeModel(chat);
    assistant = await startAssistantWithoutModel(folders);
    const events = recordEvents(assistant);
    const app = await openApp(assistant);
    await untilWarm(app);
    expect(await app.getByTestId('first-run-card').count()).toBe(0);

    await app.getByTestId('models-button').click();
    const row = (id: string) => app.locator(`[data-testid="model-row"][data-model-id="${id}"]`);
    await row(OTHER_ID).waitFor();
    expect(await row(CHAT_ID).getAttribute('data-state')).toBe('active');
    expect(await row(OTHER_ID).getAttribute('data-state')).toBe('missing');
    expect(await row(OTHER_ID).locator('[data-field="size"]').textContent()).toBe('1.1 MB');
    expect(await row(OTHER_ID).locator('[data-field="license"]').textContent()).toBe('MIT');

    await row(OTHER_ID).getByTestId('model-download').click();
    await expect.poll(() => row(OTHER_ID).getAttribute('data-state'), { timeout: 30_000 }).toBe('ready');
    // A model arriving while another answers does not replace it unasked.
    expect(await row(CHAT_ID).getAttribute('data-state')).toBe('active');

    await row(OTHER_ID).getByTestId('model-use').click();
    await expect.poll(() => row(OTHER_ID).getAttribute('data-state'), { timeout: 30_000 }).toBe('active');
    expect(await row(CHAT_ID).getAttribute('data-state')).toBe('ready');
    await expect.poll(() => app.getByTestId('model-status').textContent()).toContain(OTHER_ID);
    expect(await app.getByTestId('model-status').getAttribute('data-state')).toBe('warm');

    await ask(app, QUESTION);
    expect((await answered(app)).length).toBeGreaterThan(0);
    const done = events.filter((event): event is DoneEvent => event.type === 'done').at(-1);
    expect(done?.model).toContain(OTHER_ID);

    // The model in use cannot be deleted from here; the one it replaced can, after a confirmation.
    expect(await row(OTHER_ID).getByTestId('model-delete').count()).toBe(0);
    await row(CHAT_ID).getByTestId('model-delete').click();
    await row(CHAT_ID).getByTestId('model-delete-confirm').click();
    await expect.poll(() => row(CHAT_ID).getAttribute('data-state')).toBe('missing');
    expect(await app.getByTestId('models-error').count()).toBe(0);
  });

  it('uses Ollama from the first-run card when it runs, and pulls a new Ollama model by name with the same progress bar', async () => {
    ollama = await OllamaProtocolServer.start({
      models: ['llama3.2:latest'],
      pullable: { 'qwen2.5:0.5b': 50_000_000 },
      pullIntervalMs: 60,
      tokens: ['Hello', ' from', ' Ollama', '.'],
    });
    folders = await createFirstRunFolders([storiesEntry(CHAT_ID, await unreachableUrl(), { default: true })]);
    // Ollama runs, but without the model the app is set up for: the embedded default is looked for, and is missing.
    assistant = await startAssistantWithoutModel(folders, { env: { OLLAMA_HOST: ollama.url } });
    const app = await openApp(assistant);
    await app.getByTestId('first-run-card').waitFor();

    await app.getByTestId('first-run-ollama').click();
    await app.getByTestId('first-run-card').waitFor({ state: 'detached', timeout: 30_000 });
    await untilWarm(app);
    expect(await app.getByTestId('model-status').textContent()).toContain('ollama');
    expect(await app.getByTestId('model-status').textContent()).toContain('llama3.2');
    await ask(app, 'Hi there');
    expect(await answered(app)).toBe('Hello from Ollama.');

    await app.getByTestId('models-button').click();
    const installed = (name: string) => app.locator(`[data-testid="ollama-model"][data-model-id="${name}"]`);
    await expect.poll(() => installed('llama3.2:latest').getAttribute('data-state')).toBe('active');
    const progressSnapshots = await watchDownloads(app);
    await app.getByTestId('ollama-pull-name').fill('qwen2.5:0.5b');
    await app.getByTestId('ollama-pull').click();
    await app.locator('[data-testid="download-progress"][data-model-id="qwen2.5:0.5b"]').waitFor();
    await installed('qwen2.5:0.5b').waitFor({ timeout: 30_000 });
    const seen = await progressSnapshots();
    expect(seen.some((snapshot) => Number(snapshot.percent) > 0 && Number(snapshot.percent) < 100)).toBe(true);
    expect(seen.some((snapshot) => / of 48 MB/.test(snapshot.text))).toBe(true);

    await installed('qwen2.5:0.5b').getByTestId('ollama-model-use').click();
    await expect.poll(() => installed('qwen2.5:0.5b').getAttribute('data-state'), { timeout: 30_000 }).toBe('active');
    await expect.poll(() => app.getByTestId('model-status').textContent()).toContain('qwen2.5:0.5b');
  });

  it('offers Whisper models in the voice settings: the recommended one with its size, Download, then Use', async () => {
    // Stand-in bytes for a Whisper model, with their real checksum: the download is verified as a real one would be.
    const whisperBytes = randomBytes(300_000);
    server = await startRangeFileServer(whisperBytes, 'ggml-tiny.en.bin');
    server.behaviour.chunkDelayMs = 100;
    const chat = storiesEntry(CHAT_ID, await unreachableUrl(), { default: true });
    folders = await createFirstRunFolders([
      chat,
      {
        id: 'whisper-tiny-en',
        role: 'stt-whisper',
        file: 'whisper/ggml-tiny.en.bin',
        url: server.url,
        sizeBytes: whisperBytes.length,
        sha256: createHash('sha256').update(whisperBytes).digest('hex'),
        license: 'MIT',
        description: "Whisper tiny.en in whisper.cpp's ggml format (test bytes from a local server).",
      },
    ]);
    await folders.placeModel(chat);
    assistant = await startAssistantWithoutModel(folders, { config: { voice: { enabled: true } } });
    await assistant.agent.voice?.whenLoaded();
    const app = await openApp(assistant);
    await app.locator('[data-testid="voice-settings"] summary').click();

    // The built-in recommendation, as the manifest has it.
    const row = (id: string) => app.locator(`[data-testid="whisper-offer-row"][data-model-id="${id}"]`);
    await row('whisper-base-en').waitFor();
    expect(await row('whisper-base-en').locator('.whisper-offer-label').textContent()).toBe('Better recognition: Whisper base.en, 141 MB');
    expect(await row('whisper-base-en').getByTestId('whisper-download').isVisible()).toBe(true);

    expect(await row('whisper-tiny-en').locator('.whisper-offer-label').textContent()).toBe('Whisper tiny.en, 293 KB');
    await row('whisper-tiny-en').getByTestId('whisper-download').click();
    await row('whisper-tiny-en').getByTestId('download-progress').waitFor();
    await row('whisper-tiny-en').getByTestId('whisper-use').waitFor({ timeout: 30_000 });
    await row('whisper-tiny-en').getByTestId('whisper-use').click();

    await expect.poll(() => app.getByTestId('whisper-active').textContent()).toContain('Whisper tiny.en');
    const settings = await assistant.agent.call('settings:get');
    expect(settings.saved.whisperModel).toBe('whisper-tiny-en');
  });
});
