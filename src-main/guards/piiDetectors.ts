import { findPhoneNumbersInText, type CountryCode, type PhoneNumber } from 'libphonenumber-js/max';
import { countrySpecs, isValidIBAN } from 'ibantools';
import type { FlaggedSpan } from './guard.js';

/** The kinds of personal data the PII guard finds; each is masked as `[KIND]`. */
export type PiiKind = 'EMAIL' | 'PHONE' | 'CARD' | 'IBAN' | 'NATIONAL_ID' | 'SECRET';

export const PII_KINDS: readonly PiiKind[] = ['EMAIL', 'PHONE', 'CARD', 'IBAN', 'NATIONAL_ID', 'SECRET'];

export function piiMask(kind: PiiKind): string {
  return `[${kind}]`;
}

/** `[EMAIL]`, `[PHONE]`…: text that redaction wrote and a later pass must leave alone. */
const MASK = /^\[(?:EMAIL|PHONE|CARD|IBAN|NATIONAL_ID|SECRET)\]/;

// Every pattern below is linear in the text: a match can only start where a run starts (a lookbehind rules out the
// middle of a run), and each repetition is either bounded or separated by a character its neighbour cannot match.

// ── Email ────────────────────────────────────────────────────────────────────────────────────────────────────────
// Broad on purpose (any label characters, Unicode letters): a missed address is worse than a masked look-alike.
const EMAIL = /(?<![\p{L}\p{N}._%+-])[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}/gu;

export function findEmails(text: string): FlaggedSpan[] {
  return spansOf(text, EMAIL, 'EMAIL');
}

// ── Payment card ─────────────────────────────────────────────────────────────────────────────────────────────────
/** A run of digits with at most one space or dash between neighbours ("4111 1111-1111 1111", "4111111111111111"). */
const DIGIT_RUN = /\d(?:[ -]?\d)*/g;
const CARD_MIN_DIGITS = 13;
const CARD_MAX_DIGITS = 19;

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/**
 * A run of 13–19 digits that passes Luhn is a card, whatever its grouping. In a longer run (two cards one space
 * apart, a card followed by its expiry), whole groups of three or more digits that add up to 13–19 digits are tried,
 * the way cards are written (4-4-4-4, 4-6-5, 4-4-4-4-3).
 */
export function findCards(text: string): FlaggedSpan[] {
  const spans: FlaggedSpan[] = [];
  for (const run of text.matchAll(DIGIT_RUN)) {
    const runText = run[0];
    const digitCount = countDigits(runText);
    if (digitCount < CARD_MIN_DIGITS) continue;
    if (digitCount <= CARD_MAX_DIGITS && luhnValid(onlyDigits(runText))) {
      spans.push({ start: run.index, end: run.index + runText.length, kind: 'CARD' });
      continue;
    }
    const groups = groupsOf(runText, run.index);
    if (groups.length < 2) continue;
    for (let first = 0; first < groups.length; first++) {
      let digits = '';
      for (let last = first; last < groups.length; last++) {
        const group = groups[last]!;
        if (group.digits.length < 3) break;
        digits += group.digits;
        if (digits.length > CARD_MAX_DIGITS) break;
        if (digits.length >= CARD_MIN_DIGITS && luhnValid(digits)) {
          spans.push({ start: groups[first]!.start, end: group.end, kind: 'CARD' });
        }
      }
    }
  }
  return spans;
}

interface DigitGroup {
  digits: string;
  start: number;
  end: number;
}

function groupsOf(run: string, offset: number): DigitGroup[] {
  const groups: DigitGroup[] = [];
  for (const group of run.matchAll(/\d+/g)) {
    groups.push({ digits: group[0], start: offset + group.index, end: offset + group.index + group[0].length });
  }
  return groups;
}

function countDigits(run: string): number {
  let count = 0;
  for (let i = 0; i < run.length; i++) if (run.charCodeAt(i) !== 32 && run.charCodeAt(i) !== 45) count++;
  return count;
}

function onlyDigits(run: string): string {
  return run.replace(/[ -]/g, '');
}

// ── IBAN ─────────────────────────────────────────────────────────────────────────────────────────────────────────
/** Where an IBAN may start: a country code and two check digits, not inside a word. */
const IBAN_START = /(?<![\p{L}\p{N}])[A-Za-z]{2}\d{2}(?=[ ]?[A-Za-z0-9])/gu;

/**
 * IBANs with the length of their country (ibantools' registry), written whole or in groups with single spaces, whose
 * BBAN has the country's format and whose check digits pass mod-97 (and the national check where ibantools has one).
 */
export function findIbans(text: string): FlaggedSpan[] {
  const spans: FlaggedSpan[] = [];
  for (const start of text.matchAll(IBAN_START)) {
    const country = start[0].slice(0, 2).toUpperCase();
    const length = countrySpecs[country]?.chars;
    if (length === undefined) continue;
    let compact = start[0].toUpperCase();
    let position = start.index + start[0].length;
    while (compact.length < length && position < text.length) {
      if (text[position] === ' ' && isAlphanumeric(text[position + 1])) position++;
      const char = text[position];
      if (!isAlphanumeric(char)) break;
      compact += char!.toUpperCase();
      position++;
    }
    if (compact.length !== length || isAlphanumeric(text[position])) continue;
    if (isValidIBAN(compact)) spans.push({ start: start.index, end: position, kind: 'IBAN' });
  }
  return spans;
}

function isAlphanumeric(char: string | undefined): boolean {
  return char !== undefined && /^[A-Za-z0-9]$/.test(char);
}

// ── National identity numbers ────────────────────────────────────────────────────────────────────────────────────
/** US SSN written with dashes; never issued: area 000, 666 or 9xx, group 00, serial 0000. */
const SSN_DASHED = /(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])/g;
/** An SSN with spaces or none, only when it is called one. */
const SSN_NAMED =
  /(?<![\p{L}\p{N}])(?:ssn|social security(?: number| no\.?)?)[ \t]*(?:[:#=]|is|was)?[ \t]*(?<value>(?!000|666|9\d\d)\d{3}[ ]?(?!00)\d{2}[ ]?(?!0000)\d{4})(?![\d-])/giu;
/**
 * UK National Insurance number: two prefix letters (D, F, I, Q, U, V never; O never second; BG, GB, KN, NK, NT, TN
 * and ZZ never), six digits, a suffix A–D; written whole or in pairs.
 */
const UK_NINO =
  /(?<![\p{L}\p{N}])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![\p{L}\p{N}])/giu;

export function findNationalIds(text: string): FlaggedSpan[] {
  return [...spansOf(text, SSN_DASHED, 'NATIONAL_ID'), ...spansOf(text, SSN_NAMED, 'NATIONAL_ID', 'value'), ...spansOf(text, UK_NINO, 'NATIONAL_ID')];
}

// ── Secrets: passwords and keys ──────────────────────────────────────────────────────────────────────────────────
/** Well-known key shapes, found anywhere. */
const KEY_SHAPES = [
  /\bsk-(?:proj-|ant-(?:api\d\d-)?|svcacct-)?[A-Za-z0-9_-]{20,}/g, // OpenAI, Anthropic
  /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b/g, // AWS access key IDs
  /\bgh[pousr]_[A-Za-z0-9]{30,255}\b/g, // GitHub tokens
  /\bgithub_pat_[A-Za-z0-9_]{22,255}/g,
  /\bglpat-[A-Za-z0-9_-]{20,}/g, // GitLab
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, // Slack
  /\bAIza[0-9A-Za-z_-]{35}/g, // Google API keys
  /\b[rsp]k_(?:live|test)_[A-Za-z0-9]{16,}/g, // Stripe
  /\bhf_[A-Za-z0-9]{30,}/g, // Hugging Face
  /\bnpm_[A-Za-z0-9]{36}\b/g,
  /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, // JSON Web Tokens
  /(?<=:\/\/[^\s:@/]{1,64}:)[^\s@/]{1,128}(?=@)/g, // the password in https://user:password@host
];

/**
 * "password: …", "pwd=…", "Passwort: …": whatever follows the colon or equals sign. After "is" ("my wifi password is
 * blue-otter-42") only a value that looks made up counts, so "the password is incorrect" is not a password. A bare
 * "pass" is left out: "boarding pass: 12A" and "bus pass: valid" are not passwords.
 */
const PASSWORD_VALUE =
  /(?<![\p{L}\p{N}])(?:password|passwd|passwort|passphrase|passcode|kennwort|wachtwoord|contraseña|senha|mot de passe|pwd|pin(?: code| number)?)(?<separator>[ \t]*[:=][ \t]*|[ \t]+(?:is|ist|est|es|was)[ \t]*:?[ \t]*)(?<value>"[^"\n]{1,200}"|'[^'\n]{1,200}'|[^\s"'<>]{1,200})/giu;

/**
 * A long token (16+ characters with a letter and a digit) after a key's name: "api key 3f9a…", "Bearer eyJ…",
 * "client_secret: …". A bare "key", "token" or "secret" needs a colon, equals sign or "is" before it ("key: …"), so
 * "the primary key customer_id_2024_x" is not a secret.
 */
const KEY_VALUE =
  /(?<![\p{L}\p{N}])(?:(?:api[_ .-]?key|apikey|access[_ .-]?key(?:[_ .-]?id)?|secret[_ .-]?(?:access[_ .-]?)?key|client[_ .-]?secret|private[_ .-]?key|(?:auth|access|refresh|api|bearer|session)[_ .-]?token|bearer)["']?(?:[ \t]*[:=][ \t]*["']?|[ \t]+(?:is[ \t]+)?)|(?:key|token|secret)["']?(?:[ \t]*[:=][ \t]*["']?|[ \t]+is[ \t]+))(?<value>[A-Za-z0-9+/_.=-]{16,512})/giu;

const PEM_BEGIN = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g;

export function findSecrets(text: string): FlaggedSpan[] {
  const spans: FlaggedSpan[] = [];
  for (const shape of KEY_SHAPES) spans.push(...spansOf(text, shape, 'SECRET'));
  for (const match of text.matchAll(PASSWORD_VALUE)) {
    const separator = match.groups?.separator ?? '';
    let value = match.groups?.value ?? '';
    if (!/[:=]/.test(separator) && !looksMadeUp(value)) continue;
    value = trimSentencePunctuation(value);
    if (value.length === 0 || MASK.test(value) || NOT_A_PASSWORD.has(value.toLowerCase())) continue;
    const start = match.index + match[0].length - (match.groups?.value ?? '').length;
    spans.push({ start, end: start + value.length, kind: 'SECRET' });
  }
  for (const match of text.matchAll(KEY_VALUE)) {
    const value = trimSentencePunctuation(match.groups?.value ?? '');
    if (value.length < 16 || !/\d/.test(value) || !/[A-Za-z]/.test(value)) continue;
    const start = match.index + match[0].length - (match.groups?.value ?? '').length;
    spans.push({ start, end: start + value.length, kind: 'SECRET' });
  }
  // A private key block runs to its END line, or to the end of the text when it was pasted cut short.
  let coveredUntil = 0;
  for (const begin of text.matchAll(PEM_BEGIN)) {
    if (begin.index < coveredUntil) continue;
    const endMarker = text.indexOf('-----END ', begin.index + begin[0].length);
    const close = endMarker < 0 ? -1 : text.indexOf('-----', endMarker + 9);
    coveredUntil = close < 0 ? text.length : close + 5;
    spans.push({ start: begin.index, end: coveredUntil, kind: 'SECRET' });
  }
  return spans;
}

/** Has a digit or a symbol, or capitals after the first letter: "hunter2", "Tr0ub4dor&3", "blue-otter-42", "aBc". */
function looksMadeUp(value: string): boolean {
  const bare = value.replace(/^["']|["']$/g, '').replace(/[.,;!?]+$/, '');
  return bare.length >= 4 && (/[\p{N}\p{S}_@#%&*-]/u.test(bare) || /.\p{Lu}/u.test(bare));
}

/** Sentence punctuation after a value is not part of it ("password: hunter2."); "!" and "?" may be, so they stay. */
function trimSentencePunctuation(value: string): string {
  let trimmed = value.replace(/[.,;:]+$/, '');
  if (trimmed.endsWith(')') && !trimmed.includes('(')) trimmed = trimmed.slice(0, -1);
  if (trimmed.endsWith(']') && !trimmed.includes('[')) trimmed = trimmed.slice(0, -1);
  return trimmed.replace(/[.,;:]+$/, '');
}

/** Words that follow "password:" in instructions rather than passwords ("Password: see the note", "PIN: none"). */
const NOT_A_PASSWORD = new Set(['see', 'none', 'same', 'n/a', 'na', 'null', 'your', 'the', 'a', 'an', 'is', 'not', 'unknown', 'required', 'optional', 'empty', 'blank', 'tbd', 'todo', 'enter', 'ask', 'check']);

// ── Phone numbers ────────────────────────────────────────────────────────────────────────────────────────────────
/** Regions whose national formats (no +CC) are recognised when none are configured; international forms always are. */
export const DEFAULT_PHONE_REGIONS: readonly CountryCode[] = ['US', 'GB', 'DE', 'FR'];

/**
 * Where a phone number can be: a run of digits and the punctuation numbers are written with, on one line, with at
 * least seven digits and one group of two or more. Only these runs (with a little context) go to the phone finder.
 */
const PHONE_ZONE = /[+(]?\d[\d \t\u00a0().\/\-\u2010-\u2015]*\d\)?/g;
const PHONE_CONTEXT_CHARS = 8;
/** A longer run (a row of figures, junk) is read in overlapping windows, so no number longer than half is cut. */
const PHONE_WINDOW_CHARS = 64;
/**
 * Characters the phone finder may read in one scan, over all regions. Google's finder costs up to ~8 µs a character
 * on runs of digits and spaces; prose has few runs, but a page of them would otherwise take seconds. Runs left when
 * the budget is spent are masked whole: over-masking junk is the safe side.
 */
const PHONE_BUDGET_CHARS = 4000;

/**
 * Phone numbers, by libphonenumber-js (Google's metadata: only numbers valid for their region count, which keeps
 * years, prices, times, versions and order numbers out), read as written in each of `regions` in turn; international
 * forms (+CC, 00CC) in any case. Yields after each piece of work so a long scan can pause and be cancelled.
 */
export function* findPhones(text: string, regions: readonly CountryCode[] = DEFAULT_PHONE_REGIONS): Generator<void, FlaggedSpan[]> {
  const spans: FlaggedSpan[] = [];
  const tries: (CountryCode | undefined)[] = regions.length === 0 ? [undefined] : [...regions];
  let budget = PHONE_BUDGET_CHARS;
  let batch: PhoneWindow[] = [];
  let batchChars = 0;
  for (const zone of text.matchAll(PHONE_ZONE)) {
    if (!mayHoldAPhoneNumber(zone[0]) || DATE_LIKE.test(zone[0])) continue;
    const zoneStart = zone.index;
    const zoneEnd = zone.index + zone[0].length;
    for (let windowStart = zoneStart; windowStart < zoneEnd; windowStart += PHONE_WINDOW_CHARS / 2) {
      const windowEnd = Math.min(zoneEnd, windowStart + PHONE_WINDOW_CHARS);
      const from = Math.max(0, windowStart - PHONE_CONTEXT_CHARS);
      const to = Math.min(text.length, windowEnd + PHONE_CONTEXT_CHARS);
      if (budget < (to - from) * tries.length) {
        // Whole runs, so that redacting the output again finds the same and stops.
        budget = 0;
        spans.push({ start: zoneStart, end: zoneEnd, kind: 'PHONE' });
        break;
      }
      budget -= (to - from) * tries.length;
      batch.push({ from, to, windowStart, windowEnd });
      batchChars += to - from + 1;
      if (batchChars >= PHONE_BATCH_CHARS) {
        yield* readPhoneBatch(text, batch, tries, spans);
        batch = [];
        batchChars = 0;
      }
      if (windowEnd === zoneEnd) break;
    }
  }
  yield* readPhoneBatch(text, batch, tries, spans);
  return spans;
}

/** A stretch handed to the phone finder: [from, to) with context; findings count only inside [windowStart, windowEnd). */
interface PhoneWindow {
  from: number;
  to: number;
  windowStart: number;
  windowEnd: number;
}

/** Windows read per call: the finder costs ~50 µs a call before it reads anything, so windows go together. */
const PHONE_BATCH_CHARS = 2000;

/** Reads windows joined by line breaks (no number spans one), once per region, mapping findings back. */
function* readPhoneBatch(text: string, batch: readonly PhoneWindow[], tries: readonly (CountryCode | undefined)[], spans: FlaggedSpan[]): Generator<void> {
  if (batch.length === 0) return;
  const offsets: number[] = [];
  let joined = '';
  for (const window of batch) {
    offsets.push(joined.length);
    joined += `${text.slice(window.from, window.to)}\n`;
  }
  for (const region of tries) {
    let index = 0;
    for (const found of findPhoneNumbersInText(joined, region === undefined ? {} : { defaultCountry: region })) {
      while (index + 1 < batch.length && offsets[index + 1]! <= found.startsAt) index++;
      const window = batch[index]!;
      const start = window.from + found.startsAt - offsets[index]!;
      const end = window.from + found.endsAt - offsets[index]!;
      if (start < window.windowStart || end > window.windowEnd) continue;
      if (!writtenLikeAPhoneNumber(text.slice(start, end), found.number, text.slice(Math.max(0, start - 12), start))) continue;
      spans.push({ start, end, kind: 'PHONE' });
    }
    yield;
  }
}

function mayHoldAPhoneNumber(zone: string): boolean {
  const groups = zone.match(/\d+/g) ?? [];
  let digits = 0;
  let longestGroup = 0;
  for (const group of groups) {
    digits += group.length;
    longestGroup = Math.max(longestGroup, group.length);
  }
  return digits >= 7 && longestGroup >= 2;
}

const INTERNATIONAL_PREFIX = /^\s*(?:\+|00)/;
const DATE_LIKE = /^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}|(?:19|20)\d\d\s*[-–]\s*(?:19|20)?\d\d)$/;

/**
 * What the finder reports is a number valid for some region; this keeps those written the way people write phone
 * numbers. A national form (no + or 00) must carry the region's trunk prefix where it has one ("030 …", "07911 …":
 * without it almost any long number is a valid German one) and, when grouped, keep the area code apart and break
 * only where the region's own format does or inside its last group: "2024-000123" is not (202) 400-0123. Dates, ISBNs
 * and numbers ending in a lone check digit ("0-306-40615-2") are not phone numbers.
 */
function writtenLikeAPhoneNumber(candidate: string, number: PhoneNumber, before: string): boolean {
  if (DATE_LIKE.test(candidate.trim()) || /isbn[\s:-]*$/i.test(before)) return false;
  const groups = candidate.match(/\d+/g) ?? [];
  if (groups.length > 1 && groups[groups.length - 1]!.length === 1) return false;
  if (INTERNATIONAL_PREFIX.test(candidate)) return true;
  const national = number.formatNational();
  const digits = groups.join('');
  const nationalDigits = national.replace(/\D/g, '');
  if (digits !== nationalDigits && !(number.countryCallingCode === '1' && digits === `1${nationalDigits}`)) return false;
  const breaks = breaksFromEnd(candidate);
  const nationalBreaks = breaksFromEnd(national);
  if (breaks.length === 0) return true;
  // The area code stands apart ("0301/2024" is no Berlin number)…
  if (nationalBreaks.length > 0 && !breaks.includes(Math.max(...nationalBreaks))) return false;
  // …and other breaks fall where the region's format has them, or inside its last group ("030 1234 5678").
  return breaks.every((position) => position < lastGroupLength(national) || nationalBreaks.includes(position));
}

/** Where a written number breaks between digit groups, counted in digits from its end. */
function breaksFromEnd(written: string): number[] {
  const groups = written.match(/\d+/g) ?? [];
  const breaks: number[] = [];
  let fromEnd = 0;
  for (let i = groups.length - 1; i > 0; i--) {
    fromEnd += groups[i]!.length;
    breaks.push(fromEnd);
  }
  return breaks;
}

function lastGroupLength(written: string): number {
  const groups = written.match(/\d+/g) ?? [];
  return groups[groups.length - 1]?.length ?? 0;
}

// ── Shared ───────────────────────────────────────────────────────────────────────────────────────────────────────
function spansOf(text: string, pattern: RegExp, kind: PiiKind, group?: string): FlaggedSpan[] {
  const spans: FlaggedSpan[] = [];
  for (const match of text.matchAll(pattern)) {
    if (group === undefined) {
      spans.push({ start: match.index, end: match.index + match[0].length, kind });
    } else {
      const value = match.groups?.[group] ?? '';
      const start = match.index + match[0].length - value.length;
      spans.push({ start, end: start + value.length, kind });
    }
  }
  return spans;
}
