import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { startAssistant, type RunningAssistant } from './assistantHarness.js';
import { launchBrowser } from './browser.js';

export interface AssistantInBrowser {
  /** The running assistant; only inside the tests (it starts before them). */
  readonly assistant: RunningAssistant;
  readonly browser: Browser;
  /** A new page on the app, once its chat model is warm; it closes after the test. */
  openApp(options?: { timeout?: number }): Promise<Page>;
}

/**
 * The real assistant (`start`, by default `startAssistant()`) and Chromium for the tests of the describe block it is
 * called in: both start before its first test and close after its last one.
 */
export function assistantInBrowser(start: () => Promise<RunningAssistant> = () => startAssistant()): AssistantInBrowser {
  let assistant: RunningAssistant | undefined;
  let browser: Browser | undefined;
  const pages: Page[] = [];

  beforeAll(async () => {
    assistant = await start();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await assistant?.close();
  });

  afterEach(async () => {
    for (const page of pages.splice(0)) await page.close();
  });

  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('The assistant and the browser start before the tests: use them inside a test.');
    return value;
  };

  return {
    get assistant() {
      return started(assistant);
    },
    get browser() {
      return started(browser);
    },
    async openApp({ timeout } = {}) {
      const page = await started(browser).newPage();
      pages.push(page);
      await page.goto(started(assistant).host.url);
      await untilWarm(page, timeout);
      return page;
    },
  };
}

/** Waits until the model status says the chat model is warm (loaded and answering). */
export async function untilWarm(page: Page, timeout?: number): Promise<void> {
  await expect.poll(() => page.getByTestId('model-status').getAttribute('data-state'), timeout === undefined ? {} : { timeout }).toBe('warm');
}

/** Types a question into the composer and sends it, as the user does. */
export async function ask(page: Page, question: string): Promise<void> {
  const input = page.getByTestId('question-input');
  await input.fill(question);
  await input.press('Enter');
}

let recorders = 0;

/**
 * Records what `take(arg)` reads from the page after every change to its DOM, i.e. each state the user saw; the
 * function returned reads back all that was recorded so far. `take` runs in the page, so it may use only `arg` (plain
 * data) and the page's own globals. A reload forgets the records.
 */
export async function recordEachState<T, A = undefined>(page: Page, take: (arg: A) => T[], arg?: A): Promise<() => Promise<T[]>> {
  const key = `e2eRecords${++recorders}`;
  const install = (name: string, read: (arg: unknown) => unknown[], argument: unknown) => {
    const records: unknown[] = [];
    (window as unknown as Record<string, unknown>)[name] = records;
    new MutationObserver(() => records.push(...read(argument))).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
    });
  };
  // As one expression, not a function with `take` passed as text: the app's CSP forbids eval in the page.
  await page.evaluate(`(${install.toString()})(${JSON.stringify(key)}, ${take.toString()}, ${JSON.stringify(arg ?? null)})`);
  return () => page.evaluate((name) => (window as unknown as Record<string, T[]>)[name]!, key);
}
