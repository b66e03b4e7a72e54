import { describe, expect, it } from 'vitest';
import { createAbuseGuard, findAbuse } from './abuseGuard.js';
import { abuseHoldoutSamples } from './evaluation/abuseHoldout.js';
import { abuseSamples } from './evaluation/abuseSamples.js';
import { evaluateGuard } from './guardEvaluation.js';

const signal = new AbortController().signal;

describe('abuse guard', () => {
  it.each(abuseSamples.filter((s) => s.expected).map((s) => [s.text, s.word]))('flags %j at %j', (text, word) => {
    const flagged = findAbuse(text).map((span) => text.slice(span.start, span.end));
    expect(flagged).toContain(word);
  });

  it.each(abuseSamples.filter((s) => !s.expected).map((s) => [s.text]))('leaves %j alone', (text) => {
    expect(findAbuse(text)).toEqual([]);
  });

  it('does not flag the Scunthorpe words', () => {
    for (const word of ['Scunthorpe', 'assess', 'class', 'cocktail', 'analysis', 'assassin', 'Essex', 'therapist', 'cumulative', 'Hitchcock']) {
      expect(findAbuse(`The word is ${word}.`), word).toEqual([]);
    }
  });

  it('catches the usual disguises of one word', () => {
    for (const disguise of ['fuck', 'FUCK', 'f u c k', 'f.u.c.k', 'f-u-c-k', 'f_u_c_k', 'f*ck', 'fuuuck', 'fück', 'phuck', 'fcuk', 'ƒuck']) {
      expect(findAbuse(`well ${disguise} that`), disguise).toHaveLength(1);
    }
  });

  it('never reads a word across two separate spelled-out runs', () => {
    // "a b f" and "c k d" are matched together in one call; "f" + separator + "ck" must not become a word.
    expect(findAbuse('a b f, c k d')).toEqual([]);
  });

  it('maps spans back through emoji and spaced-out letters', () => {
    const text = '😀 go f u c k 😀 and sh1t';
    expect(findAbuse(text).map((span) => text.slice(span.start, span.end))).toEqual(['f u c k', 'sh1t']);
  });

  it('flags with a reason that names the subject, never the word', async () => {
    const guard = createAbuseGuard();
    const verdict = await guard.check('what the fuck', { subject: 'question' }, signal);
    expect(verdict).toEqual({ outcome: 'flag', reason: 'The question contains abusive language.', spans: [{ start: 9, end: 13, kind: 'ABUSE' }] });
    expect(await guard.check('Fuck.', { subject: 'answer-sentence' }, signal)).toMatchObject({ reason: 'The answer contains abusive language.' });
    expect(await guard.check('How far is Scunthorpe?', { subject: 'question' }, signal)).toEqual({ outcome: 'pass' });
  });

  it('measures its rates on the samples', async () => {
    const evaluation = await evaluateGuard(createAbuseGuard(), abuseSamples);
    console.log(
      `Abuse guard: detected ${evaluation.detected}/${evaluation.positives}, false positives ${evaluation.falsePositives}/${evaluation.negatives}`,
    );
    expect(evaluation.detectionRate).toBe(1);
    expect(evaluation.falsePositiveRate).toBe(0);
  });

  it('prints its rates on the hold-out set (written after the guard, never tuned against)', async () => {
    const evaluation = await evaluateGuard(createAbuseGuard(), abuseHoldoutSamples);
    console.log(
      `Abuse guard, hold-out: detected ${evaluation.detected}/${evaluation.positives}, false positives ${evaluation.falsePositives}/${evaluation.negatives}`,
    );
    // The word list misses respellings it has no pattern for ("fuq", "cnut", "sh*t") and takes the name Dick for
    // the word: the measured 5/10 and 2/14 are the honest rates. This only catches a collapse.
    expect(evaluation.detectionRate).toBeGreaterThanOrEqual(0.4);
    expect(evaluation.falsePositiveRate).toBeLessThanOrEqual(0.2);
  });
});
