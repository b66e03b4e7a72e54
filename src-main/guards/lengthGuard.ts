import { DEFAULT_MAX_QUESTION_CHARS } from '../../src-shared/contract/index.js';
import type { FlaggedSpan, Guard, GuardSubject, GuardVerdict } from './guard.js';
import { subjectName } from './guardScan.js';

export interface LengthGuardOptions {
  /** Longest text allowed, in UTF-16 code units as `string.length` counts them (the agent's limit). Default 8000. */
  maxChars?: number;
  /** More control characters (or U+FFFD, lone surrogates) than this reads as binary junk. Default 8. */
  maxControlChars?: number;
  /** One character repeated more than this many times in a row ("aaaa…") is flagged. Default 1000. */
  maxRepeatRun?: number;
  /** Default: the question only (passages are longer by nature and answers are checked sentence by sentence). */
  subjects?: readonly GuardSubject[];
}

/** What the guard found, as span kinds. */
export type FormatProblem = 'TOO_LONG' | 'BINARY' | 'HIDDEN' | 'CONTROL' | 'REPEATED';

/** Spans kept per kind; past this, the last span stretches to cover the rest (a megabyte of NULs is one problem). */
const MAX_SPANS_PER_KIND = 1000;

/**
 * The agent's length limit and basic hygiene as a guard: too long, binary (a NUL), invisible characters that can hide
 * or reorder text (bidi embeddings, overrides and isolates, Unicode tag characters outside a flag emoji), too many
 * control characters, one character repeated at length. One pass over the text; never throws.
 */
export function createLengthGuard(options: LengthGuardOptions = {}): Guard {
  const maxChars = options.maxChars ?? DEFAULT_MAX_QUESTION_CHARS;
  const maxControlChars = options.maxControlChars ?? 8;
  const maxRepeatRun = options.maxRepeatRun ?? 1000;
  return {
    name: 'length',
    subjects: options.subjects ?? ['question'],
    check(text, context, signal): GuardVerdict {
      signal.throwIfAborted();
      const found = inspect(text, maxRepeatRun);
      const subject = subjectName(context.subject);
      const problems: { reason: string; spans: FlaggedSpan[] }[] = [];
      if (text.length > maxChars) {
        problems.push({
          reason: `The ${subject} is ${text.length.toLocaleString('en')} characters long; the limit is ${maxChars.toLocaleString('en')}.`,
          spans: [{ start: maxChars, end: text.length, kind: 'TOO_LONG' }],
        });
      }
      if (found.BINARY.length > 0) problems.push({ reason: `The ${subject} contains binary data.`, spans: found.BINARY });
      if (found.HIDDEN.length > 0) {
        problems.push({ reason: `The ${subject} contains invisible characters that can hide or reorder text.`, spans: found.HIDDEN });
      }
      if (found.controlCount > maxControlChars) {
        problems.push({ reason: `The ${subject} contains ${found.controlCount.toLocaleString('en')} control characters.`, spans: found.CONTROL });
      }
      if (found.REPEATED.length > 0) {
        problems.push({ reason: `The ${subject} repeats one character ${found.longestRun.toLocaleString('en')} times in a row.`, spans: found.REPEATED });
      }
      const first = problems[0];
      if (first === undefined) return { outcome: 'pass' };
      const spans = problems.flatMap((problem) => problem.spans).sort((a, b) => a.start - b.start || a.end - b.end);
      return { outcome: 'flag', reason: first.reason, spans };
    },
  };
}

interface Inspection {
  BINARY: FlaggedSpan[];
  HIDDEN: FlaggedSpan[];
  CONTROL: FlaggedSpan[];
  REPEATED: FlaggedSpan[];
  controlCount: number;
  longestRun: number;
}

function inspect(text: string, maxRepeatRun: number): Inspection {
  const found: Inspection = { BINARY: [], HIDDEN: [], CONTROL: [], REPEATED: [], controlCount: 0, longestRun: 0 };
  const note = (kind: 'BINARY' | 'HIDDEN' | 'CONTROL' | 'REPEATED', start: number, end: number) => {
    const spans = found[kind];
    const last = spans[spans.length - 1];
    if (last !== undefined && (start <= last.end || spans.length >= MAX_SPANS_PER_KIND)) last.end = Math.max(last.end, end);
    else spans.push({ start, end, kind });
  };
  let runStart = 0;
  let runChar = -1;
  let runLength = 0;
  let i = 0;
  while (i < text.length) {
    const code = text.codePointAt(i)!;
    const width = code > 0xffff ? 2 : 1;
    if (code === runChar) {
      runLength++;
    } else {
      if (runLength > maxRepeatRun) note('REPEATED', runStart, i);
      runStart = i;
      runChar = code;
      runLength = 1;
    }
    found.longestRun = Math.max(found.longestRun, runLength);
    if (code === 0) {
      note('BINARY', i, i + width);
    } else if (isControlOrJunk(code)) {
      found.controlCount++;
      note('CONTROL', i, i + width);
    } else if (isBidiControl(code)) {
      note('HIDDEN', i, i + width);
    } else if (isTag(code)) {
      const end = flagTagSequenceEnd(text, i);
      if (end === undefined) note('HIDDEN', i, i + width);
      else {
        i = end;
        runChar = -1;
        runLength = 0;
        continue;
      }
    }
    i += width;
  }
  if (runLength > maxRepeatRun) note('REPEATED', runStart, text.length);
  if (found.REPEATED.length === 0) found.longestRun = 0;
  return found;
}

/** C0 controls but tab, newline and carriage return; DEL; C1 controls; U+FFFD; lone surrogates; U+FFFE and U+FFFF. */
function isControlOrJunk(code: number): boolean {
  return (
    (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0xfffd ||
    code === 0xfffe ||
    code === 0xffff ||
    (code >= 0xd800 && code <= 0xdfff)
  );
}

/** LRE, RLE, PDF, LRO, RLO (U+202A–U+202E) and LRI, RLI, FSI, PDI (U+2066–U+2069). */
function isBidiControl(code: number): boolean {
  return (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
}

/** Unicode tag characters: invisible, and used to smuggle ASCII text past a reader. */
function isTag(code: number): boolean {
  return code >= 0xe0000 && code <= 0xe007f;
}

/**
 * Where a subdivision flag's tag sequence ends (🏴 + tag letters + CANCEL TAG, e.g. the flag of England), when the
 * tag at `start` is part of one; undefined otherwise.
 */
function flagTagSequenceEnd(text: string, start: number): number | undefined {
  if (start < 2 || text.codePointAt(start - 2) !== 0x1f3f4) return undefined;
  let i = start;
  while (i < text.length) {
    const code = text.codePointAt(i)!;
    if (code === 0xe007f) return i + 2;
    if (code < 0xe0020 || code > 0xe007e) return undefined;
    i += 2;
  }
  return undefined;
}
