import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoneEvent } from '../src-shared/contract/index.js';
import { launchBrowser } from './support/browser.js';
import { startAssistant, type RunningAssistant } from './support/assistantHarness.js';

const PREPARE_AND_GENERATE = ['provider', 'history', 'cache', 'generate', 'first-token'];

interface Box {
  x: number;
  width: number;
}

async function boxOf(locator: Locator): Promise<Box> {
  const box = await locator.boundingBox();
  if (!box) throw new Error('The element is not visible.');
  return { x: box.x, width: box.width };
}

describe('performance panel in the browser, against the real agent and host', () => {
  let assistant: RunningAssistant;
  let browser: Browser;
  let page: Page;
  const doneTurns: DoneEvent[] = [];

  beforeAll(async () => {
    assistant = await startAssistant({ voice: { enabled: false } });
    assistant.agent.listen((event) => {
      if (event.type === 'done') doneTurns.push(event);
    });
    browser = await launchBrowser();
    page = await browser.newPage();
    await page.goto(assistant.host.url);
    await page.locator('[data-testid="model-status"][data-state="warm"]').waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await assistant?.close();
  });

  async function ask(question: string): Promise<DoneEvent> {
    const before = doneTurns.length;
    const input = page.getByTestId('question-input');
    await input.fill(question);
    await input.press('Enter');
    await expect.poll(() => doneTurns.length, { timeout: 30_000 }).toBe(before + 1);
    await expect.poll(() => page.getByTestId('assistant-message').last().getAttribute('data-status')).toBe('complete');
    return doneTurns.at(-1)!;
  }

  const countOf = (stage: string, field = 'count') =>
    page.locator(`[data-testid="stage-stats-row"][data-stage="${stage}"] [data-field="${field}"]`).textContent();

  it('shows per-stage percentiles and the last turn as a waterfall whose bars are the stored spans', async () => {
    const done = await ask('Once upon a time there was a little red fox who');

    await page.getByTestId('performance-button').click();
    const panel = page.getByTestId('performance-panel');
    await panel.waitFor();
    expect(await page.getByTestId('performance-button').getAttribute('aria-expanded')).toBe('true');

    // The table: one row per stage, counted over all turns and the recent ones, with a number for every percentile.
    await page.getByTestId('stage-stats-row').first().waitFor();
    const stages = await page.getByTestId('stage-stats-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-stage')));
    expect(stages).toEqual(expect.arrayContaining(PREPARE_AND_GENERATE));
    for (const stage of PREPARE_AND_GENERATE) {
      expect(Number(await countOf(stage))).toBeGreaterThanOrEqual(1);
      expect(Number(await countOf(stage, 'recent-count'))).toBeGreaterThanOrEqual(1);
      for (const p of ['p50', 'p90', 'p95', 'p99']) {
        const cell = page.locator(`[data-testid="stage-stats-row"][data-stage="${stage}"] [data-field="${p}"]`);
        expect(Number.isFinite(Number(await cell.getAttribute('data-ms')))).toBe(true);
        expect(await cell.textContent()).toMatch(/^[\d.,]+$/);
      }
    }

    // The waterfall is the turn just asked, bar by bar as the agent stored it.
    const stored = await assistant.agent.call('stats:get');
    expect(stored.lastTurn.map((span) => span.turnId)).toEqual(stored.lastTurn.map(() => done.turnId));
    const waterfall = page.getByTestId('turn-waterfall');
    expect(await waterfall.getAttribute('data-turn-id')).toBe(done.turnId);
    const axisMs = Number(await waterfall.getAttribute('data-axis-ms'));
    expect(axisMs).toBeGreaterThanOrEqual(Math.max(...stored.lastTurn.map((span) => span.endMs)));
    const rows = page.getByTestId('turn-waterfall-row');
    expect(await rows.evaluateAll((all) => all.map((row) => row.getAttribute('data-stage')))).toEqual(stored.lastTurn.map((span) => span.name));

    /** Each bar's left edge and where its span ends, in page pixels. */
    const bars = new Map<string, { x: number; endX: number }>();
    for (const span of stored.lastTurn) {
      const row = page.locator(`[data-testid="turn-waterfall-row"][data-stage="${span.name}"]`);
      const track = await boxOf(row.getByTestId('turn-waterfall-track'));
      const bar = await boxOf(row.getByTestId('turn-waterfall-bar'));
      const pxPerMs = track.width / axisMs;
      expect(track.width).toBeGreaterThan(100);
      expect(bar.x - track.x).toBeCloseTo(span.startMs * pxPerMs, 0);
      // Bars have a 2 px minimum so that an instant stage is still visible.
      expect(bar.width).toBeCloseTo(Math.max(2, (span.endMs - span.startMs) * pxPerMs), 0);
      bars.set(span.name, { x: bar.x, endX: bar.x + (span.endMs - span.startMs) * pxPerMs });
    }
    for (const stage of PREPARE_AND_GENERATE) expect(bars.has(stage)).toBe(true);
    // Generation starts once the prepare steps are over: its bar begins at or after the cache bar's end.
    expect(bars.get('generate')!.x).toBeGreaterThanOrEqual(bars.get('cache')!.endX - 0.5);
    expect(bars.get('first-token')!.x).toBeCloseTo(bars.get('generate')!.x, 0);
  });

  it('refreshes after each answer while it is open', async () => {
    const before = Number(await countOf('generate'));
    const done = await ask('The little bird sang a song in the tall green tree');

    await expect.poll(() => page.getByTestId('turn-waterfall').getAttribute('data-turn-id')).toBe(done.turnId);
    await expect.poll(async () => Number(await countOf('generate'))).toBe(before + 1);

    await page.getByTestId('performance-button').click();
    await page.getByTestId('performance-panel').waitFor({ state: 'detached' });
    expect(await page.getByTestId('performance-button').getAttribute('aria-expanded')).toBe('false');
  });
});
