import type { CountryCode } from 'libphonenumber-js/max';
import type { FlaggedSpan, Guard, GuardSubject, GuardVerdict } from './guard.js';
import { runScanToEnd, runScanWithPauses, subjectName, type GuardScan } from './guardScan.js';
import {
  DEFAULT_PHONE_REGIONS,
  findCards,
  findEmails,
  findIbans,
  findNationalIds,
  findPhones,
  findSecrets,
  piiMask,
  type PiiKind,
} from './piiDetectors.js';

export { DEFAULT_PHONE_REGIONS, PII_KINDS, piiMask, type PiiKind } from './piiDetectors.js';

export interface PiiOptions {
  /** Regions whose national phone formats count (international +CC forms always do). Default: US, GB, DE, FR. */
  phoneRegions?: readonly CountryCode[];
}

export interface PiiRedaction {
  /** The text with each span replaced by its mask (`[EMAIL]`, `[CARD]`…). */
  text: string;
  /** What was replaced, by offsets into the original text; sorted, never overlapping. */
  spans: FlaggedSpan[];
}

/**
 * Personal data in `text` (emails, phone numbers, cards, IBANs, national ids, passwords and keys): sorted spans that
 * never overlap, each the kind of the longest finding it covers. Synchronous; for long texts the guard's `check`
 * runs the same scan with pauses so it can be cancelled.
 */
export function findPii(text: string, options: PiiOptions = {}): FlaggedSpan[] {
  return runScanToEnd(scanPii(text, options));
}

/**
 * The text as it may be stored, cached and logged: each finding replaced by its mask. Idempotent: masks never match
 * again, and a finding that only shows once its neighbours are masked (a card left behind in a long digit run) is
 * found before returning.
 */
export function redactPii(text: string, options: PiiOptions = {}): PiiRedaction {
  const spans = findPii(text, options);
  return { text: applyMasks(text, spans).text, spans };
}

const KIND_NAMES: Record<PiiKind, string> = {
  EMAIL: 'an email address',
  PHONE: 'a phone number',
  CARD: 'a payment card number',
  IBAN: 'a bank account number (IBAN)',
  NATIONAL_ID: 'a national identity number',
  SECRET: 'a password or access key',
};

/** Flags personal data in the question and in each sentence of the answer, with the spans to mask. */
export function createPiiGuard(options: PiiOptions & { subjects?: readonly GuardSubject[] } = {}): Guard {
  return {
    name: 'pii',
    subjects: options.subjects ?? ['question', 'answer-sentence'],
    async check(text, context, signal): Promise<GuardVerdict> {
      const spans = await runScanWithPauses(scanPii(text, options), signal);
      if (spans.length === 0) return { outcome: 'pass' };
      const kinds = [...new Set(spans.map((span) => span.kind as PiiKind))];
      const what = kinds.length === 1 ? KIND_NAMES[kinds[0]!] : 'personal data';
      return { outcome: 'flag', reason: `The ${subjectName(context.subject)} contains ${what}.`, spans };
    },
    releasable: releasableBeforePii,
  };
}

/**
 * A word that could start personal data: one holding a digit, an @, a + (a phone number), or a label a secret follows
 * (password, token, key, sk-…). Every kind of PII span starts at such a word or the word before it, so the text before
 * the word ahead of the first one can be shown before the sentence is complete.
 */
const PII_RISK_WORD = /\S*(?:[\p{N}@+]|pass|pwd|secret|token|key|sk-|ghp_|akia|xox[a-z]-|iban|ssn)\S*/giu;

export function releasableBeforePii(partial: string): number {
  PII_RISK_WORD.lastIndex = 0;
  const risky = PII_RISK_WORD.exec(partial);
  if (!risky) return partial.length;
  // The word before it too: "AB 12 34 56 C" (a UK NI number) starts with letters.
  const before = partial.slice(0, risky.index).search(/\S+\s*$/u);
  return before === -1 ? risky.index : before;
}

/** How many times redaction looks again at its own output before settling; each look only ever adds spans. */
const MAX_PASSES = 6;

function* scanPii(text: string, options: PiiOptions): GuardScan<FlaggedSpan[]> {
  let spans = merge(yield* findAllOnce(text, options));
  for (let pass = 1; pass < MAX_PASSES && spans.length > 0; pass++) {
    const masked = applyMasks(text, spans);
    const more = yield* findAllOnce(masked.text, options);
    if (more.length === 0) break;
    const grown = merge([...spans, ...more.map((span) => masked.toOriginal(span))]);
    if (sameSpans(grown, spans)) break;
    spans = grown;
  }
  return spans;
}

function* findAllOnce(text: string, options: PiiOptions): GuardScan<FlaggedSpan[]> {
  const spans = [...findEmails(text), ...findCards(text), ...findIbans(text), ...findNationalIds(text)];
  yield;
  spans.push(...findSecrets(text));
  yield;
  spans.push(...(yield* findPhones(text, options.phoneRegions ?? DEFAULT_PHONE_REGIONS)));
  return spans;
}

function sameSpans(a: readonly FlaggedSpan[], b: readonly FlaggedSpan[]): boolean {
  return a.length === b.length && a.every((span, i) => span.start === b[i]!.start && span.end === b[i]!.end && span.kind === b[i]!.kind);
}

/** Which kind wins when two findings of the same length overlap: the more specific one. */
const KIND_PRIORITY: readonly string[] = ['SECRET', 'CARD', 'IBAN', 'NATIONAL_ID', 'EMAIL', 'PHONE'];

/** Overlapping spans become one, of the kind of the longest (ties: the more specific kind); touching ones stay two. */
function merge(spans: FlaggedSpan[]): FlaggedSpan[] {
  const sorted = spans.filter((span) => span.end > span.start).sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: FlaggedSpan[] = [];
  let current: { start: number; end: number; kind: string; longest: number } | undefined;
  for (const span of sorted) {
    const length = span.end - span.start;
    if (current !== undefined && span.start < current.end) {
      current.end = Math.max(current.end, span.end);
      if (length > current.longest || (length === current.longest && rank(span.kind) < rank(current.kind))) {
        current.kind = span.kind;
        current.longest = length;
      }
      continue;
    }
    if (current !== undefined) merged.push({ start: current.start, end: current.end, kind: current.kind });
    current = { ...span, longest: length };
  }
  if (current !== undefined) merged.push({ start: current.start, end: current.end, kind: current.kind });
  return merged;
}

function rank(kind: string): number {
  const index = KIND_PRIORITY.indexOf(kind);
  return index < 0 ? KIND_PRIORITY.length : index;
}

interface MaskedText {
  text: string;
  /** A span of the masked text as a span of the original (a span touching a mask covers all it replaced). */
  toOriginal(span: FlaggedSpan): FlaggedSpan;
}

/** `spans` must be sorted and not overlap (as `merge` returns them). */
function applyMasks(text: string, spans: readonly FlaggedSpan[]): MaskedText {
  // Pieces of the output, in order: copied text, or a mask standing for [originalStart, originalEnd) of the original.
  const pieces: { outStart: number; outEnd: number; originalStart: number; originalEnd: number; mask: boolean }[] = [];
  let out = '';
  let copiedFrom = 0;
  const copy = (end: number) => {
    if (end > copiedFrom) {
      pieces.push({ outStart: out.length, outEnd: out.length + end - copiedFrom, originalStart: copiedFrom, originalEnd: end, mask: false });
      out += text.slice(copiedFrom, end);
    }
  };
  for (const span of spans) {
    copy(span.start);
    const mask = piiMask(span.kind as PiiKind);
    pieces.push({ outStart: out.length, outEnd: out.length + mask.length, originalStart: span.start, originalEnd: span.end, mask: true });
    out += mask;
    copiedFrom = span.end;
  }
  copy(text.length);
  /** The first piece that ends after `offset` (pieces are in order and touch). */
  const pieceAfter = (offset: number) => {
    let low = 0;
    let high = pieces.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (pieces[middle]!.outEnd > offset) high = middle;
      else low = middle + 1;
    }
    return pieces[low];
  };
  const toOriginal = (span: FlaggedSpan): FlaggedSpan => {
    const first = pieceAfter(span.start);
    const last = pieceAfter(span.end - 1);
    if (first === undefined || last === undefined) return span;
    const start = first.mask ? first.originalStart : first.originalStart + (span.start - first.outStart);
    const end = last.mask ? last.originalEnd : last.originalStart + (span.end - last.outStart);
    return { start, end, kind: span.kind };
  };
  return { text: out, toOriginal };
}
