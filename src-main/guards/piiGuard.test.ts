import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMAIL_SHAPE, anyText, emailAddress, luhnValidRuns, piiStressText, writtenCard } from '../testing/guardPiiArbitraries.js';
import { piiHoldoutSamples } from './evaluation/piiHoldout.js';
import { piiBenignSamples, piiPositiveSamples, piiSamples } from './evaluation/piiSamples.js';
import type { GuardVerdict } from './guard.js';
import { evaluateGuard } from './guardEvaluation.js';
import { createPiiGuard, findPii, piiMask, redactPii, type PiiKind } from './piiGuard.js';

const signal = new AbortController().signal;

describe('PII guard: each kind, with its span and mask', () => {
  it.each(piiPositiveSamples.map((sample) => [sample.kind, sample.text, sample]))('%s in %j', (_kind, _text, sample) => {
    const redaction = redactPii(sample.text);
    const found = redaction.spans.map((span) => ({ text: sample.text.slice(span.start, span.end), kind: span.kind }));
    expect(found).toContainEqual({ text: sample.value, kind: sample.kind });
    expect(redaction.text).toBe(sample.text.replace(sample.value!, piiMask(sample.kind as PiiKind)));
  });

  it.each(piiBenignSamples.map((sample) => [sample.kind, sample.text]))('%s: %j passes', (_kind, text) => {
    expect(findPii(text)).toEqual([]);
  });

  it('detects at least 95% of its samples and flags at most 2% of the look-alikes', async () => {
    const evaluation = await evaluateGuard(createPiiGuard(), piiSamples);
    console.log(
      `PII guard: detected ${evaluation.detected}/${evaluation.positives} (${(evaluation.detectionRate * 100).toFixed(1)}%), ` +
        `false positives ${evaluation.falsePositives}/${evaluation.negatives} (${(evaluation.falsePositiveRate * 100).toFixed(1)}%)`,
    );
    expect(evaluation.errors).toBe(0);
    expect(evaluation.detectionRate).toBeGreaterThanOrEqual(0.95);
    expect(evaluation.falsePositiveRate).toBeLessThanOrEqual(0.02);
  });

  it('prints its rates on the hold-out set, written after the detectors and never tuned against', async () => {
    const evaluation = await evaluateGuard(createPiiGuard(), piiHoldoutSamples);
    console.log(
      `PII guard, hold-out: detected ${evaluation.detected}/${evaluation.positives}, false positives ${evaluation.falsePositives}/${evaluation.negatives}`,
    );
    // Looser than above: a small set, kept honest by not being tuned against; this only catches a collapse.
    expect(evaluation.detectionRate).toBeGreaterThanOrEqual(0.85);
    expect(evaluation.falsePositiveRate).toBeLessThanOrEqual(0.1);
  });

  it('has at least ten samples of each kind, and phones and IBANs from several countries', () => {
    for (const kind of ['EMAIL', 'PHONE', 'CARD', 'IBAN', 'NATIONAL_ID', 'SECRET']) {
      expect(piiPositiveSamples.filter((sample) => sample.kind === kind).length, kind).toBeGreaterThanOrEqual(10);
    }
    const ibanCountries = new Set(piiPositiveSamples.filter((s) => s.kind === 'IBAN').map((s) => s.value!.slice(0, 2).toUpperCase()));
    expect(ibanCountries.size).toBeGreaterThanOrEqual(10);
  });
});

describe('PII guard: what a user would notice', () => {
  it('masks two cards one space apart, and a card followed by more digits', () => {
    expect(redactPii('4111111111111111 4012888888881881').text).toBe('[CARD] [CARD]');
    expect(redactPii('card 4111 1111 1111 1111 42').text).toBe('card [CARD]');
  });

  it('masks the value of a password, not the word', () => {
    expect(redactPii('my password: hunter2.').text).toBe('my password: [SECRET].');
    expect(redactPii('Passwort: geheim').text).toBe('Passwort: [SECRET]');
    expect(redactPii('How do I change my password? The password is incorrect.').spans).toEqual([]);
  });

  it('merges overlapping findings into one mask of the longest kind', () => {
    // The URL's password is also the local part of something email-shaped: one mask, nothing left over.
    expect(redactPii('https://bob:s3cret@example.com/x').text).toBe('https://bob:[EMAIL]/x');
    expect(redactPii('pwd=4111111111111111abc').text).toBe('pwd=[SECRET]');
  });

  it('masks a private key block whole, even when it was pasted cut short', () => {
    const key = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----';
    expect(redactPii(`here: ${key} thanks`).text).toBe('here: [SECRET] thanks');
    expect(redactPii('-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhk').text).toBe('[SECRET]');
  });

  it('reads national phone formats for the configured regions only; international forms always', () => {
    expect(findPii('Ruf 0171 1234567 an', { phoneRegions: ['US'] })).toEqual([]);
    expect(findPii('Ruf 0171 1234567 an', { phoneRegions: ['DE'] })).toHaveLength(1);
    expect(findPii('Ruf +49 171 1234567 an', { phoneRegions: ['US'] })).toHaveLength(1);
  });

  it('explains a flag in one sentence without quoting the text', async () => {
    const guard = createPiiGuard();
    const verdict = (await guard.check('Mail anna@example.com', { subject: 'question' }, signal)) as Extract<GuardVerdict, { outcome: 'flag' }>;
    expect(verdict).toMatchObject({ outcome: 'flag', reason: 'The question contains an email address.' });
    const mixed = (await guard.check('anna@example.com, 4111 1111 1111 1111', { subject: 'answer-sentence' }, signal)) as Extract<GuardVerdict, { outcome: 'flag' }>;
    expect(mixed.reason).toBe('The answer contains personal data.');
    expect(mixed.reason).not.toContain('anna');
    expect(await guard.check('What is the weather tomorrow?', { subject: 'question' }, signal)).toEqual({ outcome: 'pass' });
  });
});

describe('PII redaction: properties', () => {
  it('never leaves a Luhn-valid 13–19 digit run in its output', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(writtenCard, piiStressText), { maxLength: 6 }), (parts) => {
        const output = redactPii(parts.join(' ')).text;
        expect(luhnValidRuns(output)).toEqual([]);
      }),
      { numRuns: 400 },
    );
  });

  it('never leaves anything email-shaped in its output', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(emailAddress, piiStressText), { maxLength: 6 }), (parts) => {
        expect(redactPii(parts.join('')).text).not.toMatch(EMAIL_SHAPE);
      }),
      { numRuns: 400 },
    );
  });

  it('is idempotent, and its masks never count as findings', () => {
    fc.assert(
      fc.property(fc.oneof(piiStressText, anyText), (text) => {
        const once = redactPii(text).text;
        expect(redactPii(once).text).toBe(once);
        expect(findPii(once)).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('reports sorted, non-overlapping spans inside the text', () => {
    fc.assert(
      fc.property(piiStressText, (text) => {
        const spans = findPii(text);
        spans.forEach((span, i) => {
          expect(span.start).toBeGreaterThanOrEqual(i === 0 ? 0 : spans[i - 1]!.end);
          expect(span.end).toBeGreaterThan(span.start);
          expect(span.end).toBeLessThanOrEqual(text.length);
        });
      }),
      { numRuns: 300 },
    );
  });
});
