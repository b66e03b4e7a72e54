import { describe, expect, it } from 'vitest';
import { silentLogger } from '../agent/agentLogger.js';
import { AnswerStream } from '../agent/turn/answerStream.js';
import { createAbuseGuard } from './abuseGuard.js';
import { Guardrails } from './guardrails.js';
import { createPiiGuard } from './piiGuard.js';

/** The answer stream with the real output guards: what a user sees while the answer is being written. */
function streamThrough(chunks: readonly string[], settings = {}) {
  const guardrails = new Guardrails({ guards: [createPiiGuard(), createAbuseGuard()], settings: () => settings, emit: () => undefined, logger: silentLogger });
  const stream = new AnswerStream(guardrails.outputCheck());
  const shownAfterEachChunk: string[] = [];
  let shown = '';
  const withheld: string[] = [];
  stream.subscribe({ token: (text) => (shown += text), sentence: () => undefined, withheld: (reason) => withheld.push(reason) });
  return (async () => {
    for (const chunk of chunks) {
      stream.push(chunk);
      await new Promise((resolve) => setImmediate(resolve));
      shownAfterEachChunk.push(shown);
    }
    await stream.end();
    return { shownAfterEachChunk, shown, stored: stream.checkedText, withheld };
  })();
}

const words = (text: string) => text.split(/(?<= )/u);

describe('output guards while the answer streams', () => {
  it('shows plain prose word by word before its sentence is complete, and the result is the checked answer', async () => {
    const { shownAfterEachChunk, shown, stored } = await streamThrough(words('The little fox ran across the quiet green field. Then it slept.'));
    // Before the first full stop, the first words were already on screen.
    expect(shownAfterEachChunk[3]).toBe('The little fox ran ');
    expect(shown).toBe('The little fox ran across the quiet green field. Then it slept.');
    expect(stored).toBe(shown);
  });

  it('never shows personal data, not even for a moment: the sentence holding it waits for its check and comes masked', async () => {
    const email = 'rosa.parks@example.org';
    const { shownAfterEachChunk, shown, stored } = await streamThrough(words(`You can write to ${email} or call +1 415 555 0132 today. Bye.`));
    for (const snapshot of shownAfterEachChunk) {
      expect(snapshot).not.toMatch(/rosa|example\.org|415|555/);
    }
    expect(shownAfterEachChunk[2]).toBe('You can write ');
    expect(shown).toBe('You can write to [EMAIL] or call [PHONE] today. Bye.');
    expect(stored).toBe(shown);
  });

  it('with abuse set to block, a sentence is withheld and what is stored never holds it', async () => {
    const { shownAfterEachChunk, stored, withheld } = await streamThrough(words('What a nice day. You are a fucking idiot. See you.'), { abuse: { action: 'block' } });
    for (const snapshot of shownAfterEachChunk) expect(snapshot).not.toMatch(/fucking/);
    expect(withheld).toHaveLength(1);
    expect(stored).toBe('What a nice day. See you.');
  });
});
