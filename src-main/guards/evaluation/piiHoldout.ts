import type { PiiSample } from './piiSamples.js';

/**
 * PII samples written after the detectors were finished and never used to tune them: their rates are the honest
 * ones. `piiSamples.ts` was written beside the detectors, so its rates are optimistic. Do not tune against this set;
 * add new cases to `piiSamples.ts` instead and write a fresh hold-out.
 */
export const piiHoldoutSamples: readonly PiiSample[] = [
  { text: 'Can you save karl.heinz.mueller@t-online.de as Karl?', expected: true, kind: 'EMAIL' },
  { text: 'forward it to team.lead@corp.example.com.au', expected: true, kind: 'EMAIL' },
  { text: 'my old hotmail was sunny_day_88@hotmail.co.uk', expected: true, kind: 'EMAIL' },
  { text: 'Call the plumber on (415) 867-5309 tomorrow morning', expected: true, kind: 'PHONE' },
  { text: 'numéro: +33 6 12 34 56 78', expected: true, kind: 'PHONE' },
  { text: 'Büro: 089 1234567', expected: true, kind: 'PHONE' },
  { text: 'Our Dutch office is +31 20 123 4567.', expected: true, kind: 'PHONE' },
  { text: 'my mum is on 01632 960123', expected: true, kind: 'PHONE' },
  { text: 'Charge it to 4000 0566 5566 5556 please', expected: true, kind: 'CARD' },
  { text: 'Amex 3714 496353 98431 exp 09/28', expected: true, kind: 'CARD' },
  { text: 'Überweisung an AT48 3200 0000 1234 5864', expected: true, kind: 'IBAN' },
  { text: 'IBAN NO9386011117947', expected: true, kind: 'IBAN' },
  { text: 'Rekeningnummer: NL20INGB0001234567', expected: true, kind: 'IBAN' },
  { text: 'SSN for the form is 457-55-5462', expected: true, kind: 'NATIONAL_ID' },
  { text: 'NI no. JT 48 59 23 B', expected: true, kind: 'NATIONAL_ID' },
  { text: 'The router login is admin / pwd: R0uter!2023', expected: true, kind: 'SECRET' },
  { text: 'HF_TOKEN=hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789', expected: true, kind: 'SECRET' },
  { text: 'my netflix password is Pizza4Ever', expected: true, kind: 'SECRET' },

  { text: 'What is 2^32, i.e. 4294967296?', expected: false, kind: 'benign-number' },
  { text: 'The recipe needs 1 1/2 cups of sugar and 3/4 cup of butter.', expected: false, kind: 'benign-quantity' },
  { text: 'Train ICE 1023 leaves Frankfurt at 07:13 on 12.06.2025.', expected: false, kind: 'benign-timetable' },
  { text: 'Release 2.14.0-rc.3 fixed issue #48213.', expected: false, kind: 'benign-version' },
  { text: 'The GTIN on the box is 4006381333931.', expected: false, kind: 'benign-barcode' },
  { text: 'Lat/long 48.8584, 2.2945 is the Eiffel Tower.', expected: false, kind: 'benign-coordinates' },
  { text: 'Case number 2023-CV-004512 was dismissed.', expected: false, kind: 'benign-reference' },
  { text: 'Tell me how to set a good password for my router.', expected: false, kind: 'benign-password' },
  { text: 'Which API key scopes does GitHub support?', expected: false, kind: 'benign-key' },
  { text: 'The mortgage is 320,000 at 4.1% over 25 years.', expected: false, kind: 'benign-money' },
  { text: 'Room temperature is 20-22 °C; humidity 40-60 %.', expected: false, kind: 'benign-quantity' },
  { text: 'Is DE12 3456 7890 1234 5678 90 a valid IBAN format?', expected: false, kind: 'benign-iban' },
  { text: 'Postcode SW1A 1AA is Buckingham Palace.', expected: false, kind: 'benign-postcode' },
  { text: 'Order 114-7789453-2298261 shipped with DHL 00340434161094042557.', expected: false, kind: 'benign-order' },
  { text: 'A year has 31,536,000 seconds.', expected: false, kind: 'benign-number' },
  { text: 'Serial number C02XK0AAJG5H on the MacBook.', expected: false, kind: 'benign-serial' },
];
