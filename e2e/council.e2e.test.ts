import { describe, expect, it } from 'vitest';
import { ask, assistantInBrowser, recordEachState } from './support/appInBrowser.js';

/*
 * A council of models in the browser, against the real agent and host: the agent's default council (the chat model,
 * stories260K, three times with its own seed each, and as chairman). Its pieces show above the answer as they come:
 * the members' answers (collapsed), who ranked whom, and the standings; the chairman's answer is the message's text.
 */

/** Each state of the newest answer the user saw: its status, its text, and how much of its council was on screen. */
function takeCouncilState() {
  const answers = document.querySelectorAll<HTMLElement>('[data-testid="assistant-message"]');
  const answer = answers[answers.length - 1];
  if (!answer) return [];
  return [
    {
      status: answer.dataset.status,
      text: answer.querySelector('[data-testid="assistant-text"]')?.textContent ?? '',
      members: answer.querySelectorAll('[data-testid="council-answer"]').length,
      rankings: answer.querySelectorAll('[data-testid="council-ranking"]').length,
      aggregate: answer.querySelector('[data-testid="council-aggregate"]') !== null,
    },
  ];
}

describe('a council of models in the browser (real stories260K)', () => {
  const session = assistantInBrowser();

  it('with the Council toggle on, shows the members’ answers, the rankings and the standings, then the chairman’s answer', async () => {
    const page = await session.openApp();
    const toggle = page.getByTestId('council-toggle');
    expect(await toggle.isChecked()).toBe(false);
    await page.getByRole('checkbox', { name: 'Council' }).check();
    expect(await toggle.isChecked()).toBe(true);
    const states = await recordEachState(page, takeCouncilState);

    await ask(page, 'Once upon a time there was a little cat who');

    const answer = page.getByTestId('assistant-message').last();
    await expect.poll(() => answer.getAttribute('data-status'), { timeout: 90_000 }).toBe('complete');

    const view = answer.getByTestId('council-view');
    // Three members, each answer collapsed under its label (the same model, one seed each: #1, #2, #3).
    const members = view.getByTestId('council-answer');
    expect(await members.count()).toBe(3);
    const labels = await members.evaluateAll((elements) => elements.map((element) => element.getAttribute('data-model') ?? ''));
    expect(labels.map((label) => label.slice(-2)).sort()).toEqual(['#1', '#2', '#3']);
    for (const label of labels) expect(label).toContain('stories260K');
    expect(await members.evaluateAll((elements) => elements.map((element) => (element as HTMLDetailsElement).open))).toEqual([false, false, false]);
    expect(await members.first().locator('summary').textContent()).toContain(labels[0]);
    // Opening one shows the member's whole answer.
    await members.first().locator('summary').click();
    expect(await members.first().evaluate((element) => (element as HTMLDetailsElement).open)).toBe(true);
    expect(((await members.first().locator('.council-answer-text').textContent()) ?? '').length).toBeGreaterThan(0);

    // One ranking row per reviewer: the models it ranked, or why its ranking was not usable (stories260K cannot rank).
    const rankings = view.getByTestId('council-ranking');
    expect(await rankings.count()).toBe(3);
    for (const row of await rankings.all()) {
      const usable = await row.getAttribute('data-usable');
      const text = (await row.textContent()) ?? '';
      expect(labels).toContain(await row.getAttribute('data-model'));
      if (usable === 'true') expect(text).toMatch(/#[123]/);
      else expect(text).toMatch(/no usable ranking \(.+\)/);
    }

    // The standings the chairman worked from: each member once, by rankings or, when none was usable, by agreement.
    const aggregate = view.getByTestId('council-aggregate');
    const method = await aggregate.getAttribute('data-method');
    expect(['rankings', 'agreement', 'order']).toContain(method);
    expect(await aggregate.locator('caption').textContent()).toMatch(/by rankings|by agreement \(no ranking was usable\)|in order/);
    const standings = await aggregate.getByTestId('council-standing').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-model') ?? ''));
    expect([...standings].sort()).toEqual([...labels].sort());
    const usableRankings = await view.locator('[data-testid="council-ranking"][data-usable="true"]').count();
    if (usableRankings === 0) {
      expect(method).not.toBe('rankings');
      expect(await view.getByTestId('council-notice').allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/ranked by how much they agree|kept in the members' order/)]));
    }

    // The chairman's answer is the message's text, and the footer says whose text it is.
    const finalText = (await answer.getByTestId('assistant-text').textContent()) ?? '';
    expect(finalText.trim().length).toBeGreaterThan(0);
    expect(await answer.getByTestId('council-label').textContent()).toMatch(/^council(?: of 3 \(chairman\)|: top answer \(chairman failed\))$/);
    expect(await answer.getByTestId('turn-timing').textContent()).toMatch(/total/);

    // The council's pieces were on screen while the answer was still streaming, members before rankings before standings.
    const seen = await states();
    const streaming = seen.filter((state) => state.status === 'streaming');
    expect(streaming.some((state) => state.members > 0 && state.rankings === 0 && !state.aggregate)).toBe(true);
    expect(streaming.some((state) => state.aggregate)).toBe(true);
    for (const state of streaming) if (state.rankings > 0) expect(state.members).toBe(3);
    // The toggle stays on for the next question.
    expect(await toggle.isChecked()).toBe(true);
  }, 150_000);

  it('with the toggle off, a question is answered by the one chat model, with no council view', async () => {
    const page = await session.openApp();
    expect(await page.getByTestId('council-toggle').isChecked()).toBe(false);
    await ask(page, 'The little dog ran to the park');
    const answer = page.getByTestId('assistant-message').last();
    await expect.poll(() => answer.getAttribute('data-status'), { timeout: 30_000 }).toBe('complete');
    expect(await answer.getByTestId('council-view').count()).toBe(0);
    expect(await answer.getByTestId('council-label').count()).toBe(0);
  });
});
