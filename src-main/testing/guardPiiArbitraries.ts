import fc from 'fast-check';

/**
 * fast-check inputs for the PII guard's properties, and the properties' own yardsticks (written apart from the
 * guard's code, so a bug there is not copied here).
 */

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return sum % 10 === 0;
}

/** Runs of ASCII digits with at most one space or dash between two digits, that hold 13–19 digits and pass Luhn. */
export function luhnValidRuns(text: string): string[] {
  return [...text.matchAll(/\d(?:[ -]?\d)*/g)]
    .map((match) => match[0])
    .filter((run) => {
      const digits = run.replace(/[ -]/g, '');
      return digits.length >= 13 && digits.length <= 19 && luhnValid(digits);
    });
}

/** Anything shaped like an ASCII email address. */
export const EMAIL_SHAPE = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/;

const digit = fc.constantFrom(...'0123456789'.split(''));

/** A Luhn-valid number of 13–19 digits (the last digit made to fit). */
export const luhnNumber: fc.Arbitrary<string> = fc
  .integer({ min: 12, max: 18 })
  .chain((length) => fc.array(digit, { minLength: length, maxLength: length }))
  .map((body) => {
    const partial = body.join('');
    for (let check = 0; check <= 9; check++) if (luhnValid(partial + check)) return partial + check;
    throw new Error('unreachable: one check digit always fits');
  });

/** A Luhn-valid number written whole, in fours, or with a separator after random digits. */
export const writtenCard: fc.Arbitrary<string> = fc
  .tuple(luhnNumber, fc.constantFrom('none', 'fours', 'random'), fc.constantFrom(' ', '-'), fc.array(fc.boolean(), { minLength: 19, maxLength: 19 }))
  .map(([digits, style, separator, breaks]) => {
    if (style === 'none') return digits;
    if (style === 'fours') return digits.replace(/(\d{4})(?=\d)/g, `$1${separator}`);
    return digits
      .split('')
      .map((d, i) => (i < digits.length - 1 && breaks[i] ? d + separator : d))
      .join('');
  });

const localChar = fc.constantFrom(...'abcxyzABC0189._%+-'.split(''));
const labelChar = fc.constantFrom(...'abcdefxyz0189-'.split(''));
const tldChar = fc.constantFrom(...'abcdezXY'.split(''));

export const emailAddress: fc.Arbitrary<string> = fc
  .tuple(
    fc.array(localChar, { minLength: 1, maxLength: 12 }),
    fc.array(fc.array(labelChar, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 3 }),
    fc.array(tldChar, { minLength: 2, maxLength: 5 }),
  )
  .map(([local, labels, tld]) => `${local.join('')}@${labels.map((label) => label.join('')).join('.')}.${tld.join('')}`);

/**
 * Text that stresses the detectors: pieces of cards, emails, masks and the characters their patterns are made of,
 * run together so they touch, overlap and cut each other.
 */
export const piiStressText: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...'0123456789 -@.+()/:='.split('')) },
      { weight: 2, arbitrary: writtenCard },
      { weight: 2, arbitrary: emailAddress },
      { weight: 1, arbitrary: fc.constantFrom('[CARD]', '[EMAIL]', '[PHONE]', '[SECRET]', '[IBAN]', '[NATIONAL_ID]') },
      { weight: 1, arbitrary: fc.constantFrom('password: ', 'pwd=', 'key ', 'SSN ', 'DE89', 'GB82 WEST ', '+44 ', '0171 ', 'sk-') },
      { weight: 2, arbitrary: fc.string({ maxLength: 4 }) },
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(''));

/**
 * Any text a guard may be handed: every code point (fast-check 4's `string({ unit: 'binary' })`, what
 * `fullUnicodeString()` was in fast-check 3), and raw UTF-16 units, lone surrogates and NULs included.
 */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 200 }).map((units) => String.fromCharCode(...units)),
);
