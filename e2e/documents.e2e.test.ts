import type { JSHandle, Page } from 'playwright-core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { scannedPdf } from '../src-main/testing/pdfFixture.js';
import { ask, assistantInBrowser, recordEachState } from './support/appInBrowser.js';
import { startAssistant } from './support/assistantHarness.js';
import { unreachableUrl } from './support/firstRunHarness.js';

/** A file as the test makes it in the page: a name and its bytes. */
interface PageFile {
  name: string;
  type: string;
  base64: string;
}

const SOURDOUGH = [
  '# Baking sourdough bread at home',
  '',
  '## The starter',
  '',
  'A sourdough starter is flour and water in which wild yeast and lactic acid bacteria live. Feed the starter with equal',
  'weights of flour and water the night before you bake, so that it is bubbly and active in the morning.',
  '',
  '## Mixing and folding the dough',
  '',
  'Mix 500 grams of bread flour with 350 grams of water and 100 grams of active starter. Rest it for an hour, then add',
  '10 grams of salt. Over the next three hours, stretch and fold the dough every thirty minutes to build its gluten.',
  '',
  '## Shaping and proofing',
  '',
  'Shape the dough into a tight round loaf and proof it in a floured basket in the refrigerator overnight. The cold',
  'proof makes the sourdough bread taste better and makes the loaf easier to score.',
  '',
  '## Baking the loaf',
  '',
  'Preheat the oven with a Dutch oven inside to 250 °C. Bake the sourdough loaf covered for twenty minutes, then',
  'uncovered for twenty-five minutes more, until the crust is deep brown. Let the bread cool for an hour before slicing.',
  '',
].join('\n');

const QUESTION = 'How do I bake sourdough bread at home?';

const textFile = (name: string, text: string): PageFile => ({ name, type: 'text/plain', base64: Buffer.from(text).toString('base64') });

/** A DataTransfer in the page holding real File objects, as the browser makes one when files are dragged in. */
function filesInPage(page: Page, files: PageFile[]): Promise<JSHandle<DataTransfer>> {
  return page.evaluateHandle((list) => {
    const data = new DataTransfer();
    for (const file of list) {
      const bytes = Uint8Array.from(atob(file.base64), (char) => char.charCodeAt(0));
      data.items.add(new File([bytes], file.name, { type: file.type }));
    }
    return data;
  }, files);
}

/** Records each state of the documents panel's jobs the user saw. */
function watchJobs(page: Page) {
  return recordEachState(page, () =>
    [...document.querySelectorAll<HTMLElement>('[data-testid="document-job"]')].map((job) => ({
      label: job.querySelector('.document-job-label')?.textContent ?? '',
      state: job.dataset.state ?? '',
      progress: job.querySelector('[data-testid="document-job-progress"]')?.textContent ?? null,
      bar: job.querySelector('[role="progressbar"]') !== null,
    })),
  );
}

describe('documents in the browser, against the real agent, host, embedder and index', () => {
  const session = assistantInBrowser();
  const openApp = () => session.openApp({ timeout: 60_000 });

  it('adds dropped files with progress and a summary (a bad file says why), cites the document under an answer, and opens the passage', async () => {
    const failures: Array<{ source: string; reason: string }> = [];
    const { assistant } = session;
    const unlisten = assistant.agent.listen((event) => {
      if (event.type === 'docs-progress' && event.file?.status === 'failed') failures.push({ source: event.file.source, reason: event.file.reason ?? '' });
    });
    onTestFinished(unlisten);
    const app = await openApp();
    const jobSnapshots = await watchJobs(app);
    const files = await filesInPage(app, [
      textFile('sourdough.md', SOURDOUGH),
      textFile('empty.txt', ''),
      { name: 'scanned.pdf', type: 'application/pdf', base64: scannedPdf().toString('base64') },
    ]);

    // Dragging files over any part of the window says where they go.
    const chat = app.locator('.messages');
    await chat.dispatchEvent('dragenter', { dataTransfer: files });
    const overlay = app.getByTestId('drop-overlay');
    await overlay.waitFor();
    expect(await overlay.textContent()).toBe('Drop to add to your documents');
    await chat.dispatchEvent('drop', { dataTransfer: files });
    await overlay.waitFor({ state: 'detached' });

    // The panel opens by itself, with one job per dropped file (each is uploaded, then ingested).
    const panel = app.getByTestId('documents-panel');
    await panel.waitFor();
    const job = (label: string) => panel.getByTestId('document-job').filter({ has: app.locator('.document-job-label', { hasText: label }) });
    for (const label of ['sourdough.md', 'empty.txt', 'scanned.pdf']) {
      await expect.poll(() => job(label).getAttribute('data-state'), { timeout: 90_000 }).toBe('done');
    }
    expect(await job('sourdough.md').getByTestId('document-job-summary').textContent()).toMatch(/^1 document added \(\d+ chunks?\), 0 unchanged, 0 failed$/);
    expect(await job('empty.txt').getByTestId('document-job-summary').textContent()).toBe('0 documents added (0 chunks), 0 unchanged, 1 failed');
    // Each bad file is listed by name with the agent's own reason; a PDF without text is never dropped silently.
    const reasonOf = (name: string) => failures.find((failure) => failure.source.endsWith(name))?.reason;
    expect(reasonOf('empty.txt')).toMatch(/empty\.txt/);
    expect(await job('empty.txt').getByTestId('document-failure').textContent()).toBe(`empty.txt: ${reasonOf('empty.txt')}`);
    expect(reasonOf('scanned.pdf')).toMatch(/scanned\.pdf has no text layer/);
    expect(await job('scanned.pdf').getByTestId('document-failure').textContent()).toBe(`scanned.pdf: ${reasonOf('scanned.pdf')}`);

    // While the document was being added the user saw a bar and how far it was.
    const seen = await jobSnapshots();
    const sourdoughStates = seen.filter((snapshot) => snapshot.label === 'sourdough.md');
    expect(sourdoughStates.some((snapshot) => snapshot.state === 'running' && snapshot.bar && /^\d+ of 1 file/.test(snapshot.progress ?? ''))).toBe(true);

    // The list: the document (full path on hover), its chunks; the bad files are not in it.
    const rows = panel.getByTestId('document-row');
    await expect.poll(() => rows.count()).toBe(1);
    const row = rows.first();
    expect(await row.locator('[data-field="name"]').textContent()).toContain('sourdough.md');
    const fullPath = await row.locator('[data-field="name"]').getAttribute('title');
    expect(fullPath).toMatch(/[\\/]sourdough\.md$/);
    expect(Number(await row.locator('[data-field="chunks"]').textContent())).toBeGreaterThan(0);
    // Whatever limits search here (no local index) is said plainly, in the words of docs:status.
    const status = await assistant.agent.call('docs:status');
    if (status.vectorStore.kind === 'unsupported' || status.vectorStore.message) {
      expect(await panel.getByTestId('documents-limited').textContent()).toContain(status.vectorStore.message ?? '');
    } else {
      expect(await panel.getByTestId('documents-limited').count()).toBe(0);
    }

    // A question close to the document: its answer lists the document under "Sources".
    await ask(app, QUESTION);
    const answer = app.getByTestId('assistant-message').last();
    await expect.poll(() => answer.getAttribute('data-status'), { timeout: 60_000 }).toBe('complete');
    const sources = answer.getByTestId('answer-sources');
    await sources.waitFor();
    expect(await sources.textContent()).toMatch(/^Sources/);
    const labels = await sources.getByTestId('citation-label').allTextContents();
    expect(labels.length).toBeGreaterThan(0);
    expect(labels.every((label) => /^sourdough\.md#\d+$/.test(label))).toBe(true);
    // The sources are beside the answer, never in its text (the text is what is spoken).
    expect(await answer.getByTestId('assistant-text').textContent()).not.toContain('sourdough.md');

    // Clicking a source opens its passage in full, with where it is from; closing it returns to the conversation.
    const citation = sources.getByTestId('citation').first();
    await citation.click();
    const dialog = app.getByTestId('citation-dialog');
    const passage = dialog.getByTestId('citation-dialog-text');
    await passage.waitFor();
    expect(await dialog.getByTestId('citation-dialog-source').textContent()).toBe(fullPath);
    expect(await passage.textContent()).toMatch(/sourdough|starter|dough|loaf/i);
    expect(await dialog.getByTestId('citation-dialog-headings').textContent()).toMatch(/^Baking sourdough bread at home/);
    await dialog.getByTestId('citation-dialog-close').click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
    await expect.poll(() => app.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('citation');

    // Removed from the documents: the list empties, and the source says the passage is gone.
    await row.getByTestId('document-remove').click();
    await expect.poll(() => rows.count()).toBe(0);
    await panel.getByTestId('documents-empty').waitFor();
    await citation.click();
    const error = dialog.getByTestId('citation-dialog-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/no longer in your documents/);
    await app.keyboard.press('Escape');
    await expect.poll(() => dialog.isVisible()).toBe(false);
  });

  it('adds files chosen with "Add documents…", refuses one too big to send from the browser, and cancels a long job', async () => {
    const { assistant } = session;
    const app = await openApp();
    await app.getByTestId('documents-button').click();
    const panel = app.getByTestId('documents-panel');
    await panel.waitFor();

    // Many paragraphs: long enough to embed that Cancel arrives while it runs.
    const long = Array.from({ length: 6000 }, (_, index) => `Paragraph ${index} about rye, spelt and wheat: hydration, autolyse, levain and crumb ${index}.`).join('\n\n');
    await app.getByTestId('documents-file-input').setInputFiles([
      { name: 'grains.txt', mimeType: 'text/plain', buffer: Buffer.from(long) },
    ]);
    const job = panel.getByTestId('document-job').filter({ has: app.locator('.document-job-label', { hasText: 'grains.txt' }) });
    const cancel = job.getByTestId('document-job-cancel');
    await cancel.waitFor({ timeout: 30_000 });
    await expect.poll(() => job.getByTestId('document-job-progress').textContent(), { timeout: 30_000 }).toMatch(/^0 of 1 file · grains\.txt \(\d+ of \d+ chunks\)$/);
    await cancel.click();
    await expect.poll(() => job.getAttribute('data-state'), { timeout: 30_000 }).toBe('cancelled');
    expect(await job.getByTestId('document-job-summary').textContent()).toBe('0 documents added (0 chunks), 0 unchanged, 0 failed');
    expect(await job.getByTestId('document-job-message').textContent()).toMatch(/^Cancelled/);
    expect((await assistant.agent.call('docs:list')).documents.map((doc) => doc.source)).not.toContainEqual(expect.stringMatching(/grains\.txt$/));

    // A file larger than docs:upload takes is refused in the page, by name, and nothing is sent.
    const documentsBefore = (await assistant.agent.call('docs:status')).documents;
    await app.evaluate(() => {
      const input = document.querySelector<HTMLInputElement>('[data-testid="documents-file-input"]')!;
      const data = new DataTransfer();
      // Sparse: 40 MB of zeros costs the page nothing.
      data.items.add(new File([new ArrayBuffer(40 * 1024 * 1024)], 'huge-scan.pdf', { type: 'application/pdf' }));
      input.files = data.files;
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
    const refused = panel.getByTestId('documents-message');
    await refused.waitFor();
    expect(await refused.textContent()).toMatch(/^huge-scan\.pdf is too big to add here: 40 MB, and at most 21 MB can be sent from a browser\./);
    expect((await assistant.agent.call('docs:status')).documents).toBe(documentsBefore);
  });
});

describe('documents when the vector index cannot be reached', () => {
  // A remote Chroma where nothing listens: ingestion keeps everything in SQLite, and search falls back to keywords.
  const session = assistantInBrowser(async () => startAssistant({ documents: { chromaUrl: (await unreachableUrl('')).replace(/\/$/, '') } }));

  it('says plainly that search is limited to keywords, and still cites the document', async () => {
    const { assistant } = session;
    const app = await session.openApp({ timeout: 60_000 });
    await app.getByTestId('documents-button').click();
    await app.getByTestId('documents-file-input').setInputFiles([{ name: 'sourdough.md', mimeType: 'text/markdown', buffer: Buffer.from(SOURDOUGH) }]);
    const panel = app.getByTestId('documents-panel');
    const job = panel.getByTestId('document-job');
    await expect.poll(() => job.getAttribute('data-state'), { timeout: 90_000 }).toBe('done');
    expect(await job.getByTestId('document-job-summary').textContent()).toMatch(/^1 document added/);

    const limited = panel.getByTestId('documents-limited');
    await limited.waitFor({ timeout: 30_000 });
    const status = await assistant.agent.call('docs:status');
    expect(status.vectorStore.message).toMatch(/^Documents are limited to keyword search: /);
    expect(await limited.textContent()).toBe(status.vectorStore.message);

    await ask(app, QUESTION);
    const answer = app.getByTestId('assistant-message').last();
    await expect.poll(() => answer.getAttribute('data-status'), { timeout: 60_000 }).toBe('complete');
    const labels = await answer.getByTestId('citation-label').allTextContents();
    expect(labels.length).toBeGreaterThan(0);
    expect(labels.every((label) => /^sourdough\.md#\d+$/.test(label))).toBe(true);
  });
});
