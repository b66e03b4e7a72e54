import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ask, assistantInBrowser, recordEachState } from './support/appInBrowser.js';

/** Records what the newest answer looks like after every DOM change, i.e. each state the user saw. */
async function recordAnswerSnapshots(page: Page) {
  const answersBefore = await page.getByTestId('assistant-message').count();
  return recordEachState(
    page,
    (before) => {
      const answers = document.querySelectorAll<HTMLElement>('[data-testid="assistant-message"]');
      const answer = answers[answers.length - 1];
      if (answers.length <= before || !answer) return [];
      return [
        {
          status: answer.dataset.status,
          text: answer.querySelector('[data-testid="assistant-text"]')?.textContent ?? '',
          thinking: answer.querySelector('[data-testid="thinking-indicator"]') !== null,
          cursor: answer.querySelector('[data-testid="streaming-cursor"]') !== null,
        },
      ];
    },
    answersBefore,
  );
}

async function lastAnswerStatus(page: Page): Promise<string | null> {
  return page.getByTestId('assistant-message').last().getAttribute('data-status');
}

describe('chat in the browser, against the real agent and host', () => {
  const session = assistantInBrowser();

  async function openApp(): Promise<Page> {
    const page = await session.openApp();
    const status = page.getByTestId('model-status');
    expect(await status.textContent()).toContain('embedded');
    expect(await status.textContent()).toContain('stories260K');
    return page;
  }

  it('refuses an empty question with an error banner and adds nothing', async () => {
    const page = await openApp();
    const conversationsBefore = await page.getByTestId('conversation-item').count();

    await ask(page, '   ');

    const banner = page.getByTestId('error-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toContain('The question is empty');
    expect(await page.getByTestId('conversation-item').count()).toBe(conversationsBefore);
    expect(await page.getByTestId('user-message').count()).toBe(0);
    expect(await page.getByTestId('assistant-message').count()).toBe(0);
  });

  it('streams an answer: thinking or first tokens, growing text, then complete with timings', async () => {
    const page = await openApp();
    const answerSnapshots = await recordAnswerSnapshots(page);

    await ask(page, 'Once upon a time there was a little red fox who');

    await expect.poll(() => lastAnswerStatus(page), { timeout: 30_000 }).toBe('complete');
    expect(await page.getByTestId('user-message').last().textContent()).toBe('Once upon a time there was a little red fox who');
    const snapshots = await answerSnapshots();
    const finalText = (await page.getByTestId('assistant-text').last().textContent()) ?? '';
    expect(finalText.length).toBeGreaterThan(0);

    // Before the answer was complete the user saw it in progress: thinking dots or the streaming cursor.
    expect(snapshots.some((snapshot) => snapshot.status === 'streaming' && (snapshot.thinking || snapshot.cursor))).toBe(true);
    // The text grew in place: at least three different lengths on screen, each a prefix of the final answer.
    const seenTexts = [...new Set(snapshots.map((snapshot) => snapshot.text).filter((text) => text.length > 0))];
    expect(seenTexts.length).toBeGreaterThanOrEqual(3);
    for (const text of seenTexts) expect(finalText.startsWith(text)).toBe(true);
    expect(snapshots.at(-1)).toMatchObject({ status: 'complete', cursor: false, thinking: false });

    expect(await page.getByTestId('turn-timing').last().textContent()).toMatch(/first token \d+ ms · \d+ tok\/s/);
    expect(await page.getByTestId('stop-button').count()).toBe(0);
    expect(await page.getByTestId('conversation-item').count()).toBeGreaterThanOrEqual(1);
  });

  it('Stop interrupts a long answer, removes the Stop button, and the next question still works', async () => {
    const page = await openApp();

    await ask(page, 'Tell a very long story about a dragon, a princess and a castle by the sea');
    await page.getByTestId('stop-button').click();

    await expect.poll(() => lastAnswerStatus(page), { timeout: 10_000 }).toBe('interrupted');
    await page.getByTestId('stop-button').waitFor({ state: 'detached' });
    expect(await page.getByTestId('streaming-cursor').count()).toBe(0);

    await ask(page, 'The little bird sang a song in the tall green tree');
    await expect.poll(() => page.getByTestId('assistant-message').count()).toBe(2);
    await expect.poll(() => lastAnswerStatus(page), { timeout: 30_000 }).toBe('complete');
    expect(((await page.getByTestId('assistant-text').last().textContent()) ?? '').length).toBeGreaterThan(0);
    expect(await page.getByTestId('assistant-message').first().getAttribute('data-status')).toBe('interrupted');
  });

  it('shows every question right after its own answer when several were sent to one conversation at once', async () => {
    const { agent } = session.assistant;
    const conversation = await agent.call('conversations:create', { title: 'Asked all at once' });
    const questions = ['Once upon a time a frog', 'The frog jumped', 'Then the sun came out'];
    const ended = new Map<string, string>();
    const allDone = new Promise<void>((resolve) => {
      const stop = agent.listen((event) => {
        if (event.type === 'done' && event.conversationId === conversation.id) ended.set(event.turnId, event.text);
        if (ended.size === questions.length) {
          stop();
          resolve();
        }
      });
    });
    const started = await Promise.all(questions.map((text) => agent.call('chat:send', { text, conversationId: conversation.id })));
    await allDone;

    const page = await openApp();
    await page.getByTestId('conversation-item').filter({ hasText: 'Asked all at once' }).getByRole('button').first().click();
    await expect.poll(() => page.getByTestId('user-message').count()).toBe(questions.length);
    const shown = await page.locator('.messages > article').evaluateAll((articles) =>
      articles.map((article) => ({ who: article.getAttribute('data-testid'), text: article.querySelector('.message-text')?.textContent ?? '' })),
    );
    expect(shown).toEqual(
      started.flatMap((turn, i) => [
        { who: 'user-message', text: questions[i] },
        { who: 'assistant-message', text: ended.get(turn.turnId) },
      ]),
    );
  });

  it('keeps the conversation and its messages across a page reload', async () => {
    const page = await openApp();
    const question = 'A small cat found a shiny blue stone near the river';
    await ask(page, question);
    await expect.poll(() => lastAnswerStatus(page), { timeout: 30_000 }).toBe('complete');
    const answer = await page.getByTestId('assistant-text').last().textContent();
    const activeTitle = await page.locator('[data-testid="conversation-item"][data-active="true"]').textContent();

    await page.reload();

    await page.getByTestId('conversation-item').first().waitFor();
    const titles = await page.getByTestId('conversation-item').allTextContents();
    expect(titles).toContain(activeTitle);
    await expect.poll(() => page.getByTestId('user-message').allTextContents()).toEqual([question]);
    expect(await page.getByTestId('assistant-text').allTextContents()).toEqual([answer]);
    expect(await lastAnswerStatus(page)).toBe('complete');
  });

  it('creates, renames and deletes conversations from the list', async () => {
    const page = await openApp();
    const before = await page.getByTestId('conversation-item').count();

    await page.getByTestId('new-conversation').click();
    await expect.poll(() => page.getByTestId('conversation-item').count()).toBe(before + 1);
    const created = page.locator('[data-testid="conversation-item"][data-active="true"]');
    expect(await created.textContent()).toContain('New conversation');
    expect(await page.getByTestId('user-message').count()).toBe(0);

    await created.getByRole('button', { name: 'Rename conversation' }).click();
    const titleInput = created.getByRole('textbox', { name: 'Conversation title' });
    await titleInput.fill('Bedtime stories');
    await titleInput.press('Enter');
    await expect.poll(() => created.textContent()).toContain('Bedtime stories');

    await page.reload();
    const renamed = page.getByTestId('conversation-item').filter({ hasText: 'Bedtime stories' });
    await renamed.waitFor();
    await renamed.getByRole('button', { name: 'Delete conversation' }).click();
    await renamed.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect.poll(() => page.getByTestId('conversation-item').count()).toBe(before);
    expect(await page.getByTestId('conversation-item').allTextContents()).not.toContain('Bedtime stories');
  });
});

