import type { GuardSample } from '../guardEvaluation.js';
import type { PiiKind } from '../piiDetectors.js';

/**
 * One labelled text for the PII guard. A positive holds one piece of personal data of `kind`, written out in
 * `value` exactly as it appears in `text` (the span the guard should mask); a negative is a look-alike that must pass.
 */
export interface PiiSample extends GuardSample {
  kind: PiiKind | `benign-${string}`;
  value?: string;
}

function has(kind: PiiKind, text: string, value: string): PiiSample {
  if (!text.includes(value)) throw new Error(`PII sample "${text}" does not contain "${value}"`);
  return { text, expected: true, kind, value };
}

function benign(kind: string, text: string): PiiSample {
  return { text, expected: false, kind: `benign-${kind}` };
}

// Every number below is a published test or example value (card brands' test numbers, IBAN registry examples,
// Ofcom's and NANP's drama ranges where a country has one) or made up; none belongs to a real person.
export const piiPositiveSamples: readonly PiiSample[] = [
  // Email addresses.
  has('EMAIL', 'Send the invoice to anna.schmidt@web.de please.', 'anna.schmidt@web.de'),
  has('EMAIL', 'My address is j.doe+newsletter@gmail.com', 'j.doe+newsletter@gmail.com'),
  has('EMAIL', 'Can you write to info@harbour-dental.co.uk and ask about Tuesday?', 'info@harbour-dental.co.uk'),
  has('EMAIL', 'Reply-to: first_last@mail.sub.example.org', 'first_last@mail.sub.example.org'),
  has('EMAIL', 'Écris à françois.dupont@exemple.fr demain.', 'françois.dupont@exemple.fr'),
  has('EMAIL', 'THE BOSS IS AT CEO@ACME-CORP.COM', 'CEO@ACME-CORP.COM'),
  has('EMAIL', 'Is m.rossi@libero.it still Marco’s email?', 'm.rossi@libero.it'),
  has('EMAIL', 'remind me to email contact-us@my-startup.io about the demo', 'contact-us@my-startup.io'),
  has('EMAIL', '(see: support@help.example.museum)', 'support@help.example.museum'),
  has('EMAIL', 'Her work mail was li.wei_2019@university.edu.cn, I think.', 'li.wei_2019@university.edu.cn'),
  has('EMAIL', 'mailto:sales%team@example.com', 'sales%team@example.com'),
  has('EMAIL', 'Email tom@example.net, subject "Dinner".', 'tom@example.net'),

  // Phone numbers, international and national formats of several countries.
  has('PHONE', 'Call me at +44 20 7946 0958 after six.', '+44 20 7946 0958'),
  has('PHONE', 'The office number is (212) 555-0187.', '(212) 555-0187'),
  has('PHONE', 'Text +1-202-555-0143 when you land', '+1-202-555-0143'),
  has('PHONE', 'Meine Nummer: +49 30 12345678', '+49 30 12345678'),
  has('PHONE', 'Ruf mich unter 0171 1234567 an.', '0171 1234567'),
  has('PHONE', 'Appelle le 06 12 34 56 78 ce soir.', '06 12 34 56 78'),
  has('PHONE', 'Le standard: +33 1 42 68 53 00', '+33 1 42 68 53 00'),
  has('PHONE', 'Mi móvil es +34 612 34 56 78', '+34 612 34 56 78'),
  has('PHONE', 'Chiamami al +39 06 6982 1234.', '+39 06 6982 1234'),
  has('PHONE', 'My number in Mumbai is +91 98765 43210', '+91 98765 43210'),
  has('PHONE', 'Tokyo office: +81 3-1234-5678', '+81 3-1234-5678'),
  has('PHONE', 'Sydney: +61 2 9876 5432', '+61 2 9876 5432'),
  has('PHONE', 'WhatsApp +55 11 91234-5678', '+55 11 91234-5678'),
  has('PHONE', 'His mobile is 07911 123456.', '07911 123456'),
  has('PHONE', 'ring 020 7946 0958 for the clinic', '020 7946 0958'),
  has('PHONE', 'dial 202.555.0143', '202.555.0143'),
  has('PHONE', 'From abroad dial 0044 20 7946 0958', '0044 20 7946 0958'),

  // Payment card numbers (brands' test numbers), grouped or not.
  has('CARD', 'My card is 4111 1111 1111 1111, expiry 12/27.', '4111 1111 1111 1111'),
  has('CARD', 'Pay with 5555-5555-5555-4444', '5555-5555-5555-4444'),
  has('CARD', 'amex 3782 822463 10005', '3782 822463 10005'),
  has('CARD', 'card number: 6011111111111117', '6011111111111117'),
  has('CARD', 'Use the Mastercard 2223 0031 2200 3222 for the hotel.', '2223 0031 2200 3222'),
  has('CARD', 'old visa 4222222222222', '4222222222222'),
  has('CARD', 'Diners 3056 930902 5904', '3056 930902 5904'),
  has('CARD', 'JCB: 3530-1113-3330-0000.', '3530-1113-3330-0000'),
  has('CARD', 'UnionPay card 6200 0000 0000 0005 please', '6200 0000 0000 0005'),
  has('CARD', 'the 19-digit one is 6304 0000 0000 0000 000', '6304 0000 0000 0000 000'),
  has('CARD', 'Remember 5105105105105100 for the gym', '5105105105105100'),
  has('CARD', 'Kreditkarte 4012 8888 8888 1881, gültig bis 03/26', '4012 8888 8888 1881'),

  // IBANs of several countries.
  has('IBAN', 'Überweise es auf DE89 3704 0044 0532 0130 00.', 'DE89 3704 0044 0532 0130 00'),
  has('IBAN', 'Sort it out via GB82 WEST 1234 5698 7654 32', 'GB82 WEST 1234 5698 7654 32'),
  has('IBAN', 'IBAN : FR14 2004 1010 0505 0001 3M02 606', 'FR14 2004 1010 0505 0001 3M02 606'),
  has('IBAN', 'Mi cuenta: ES9121000418450200051332', 'ES9121000418450200051332'),
  has('IBAN', 'Conto IT60 X054 2811 1010 0000 0123 456 intestato a me', 'IT60 X054 2811 1010 0000 0123 456'),
  has('IBAN', 'Rekening NL91ABNA0417164300', 'NL91ABNA0417164300'),
  has('IBAN', 'Compte BE68 5390 0754 7034, merci', 'BE68 5390 0754 7034'),
  has('IBAN', 'Konto CH93 0076 2011 6238 5295 7', 'CH93 0076 2011 6238 5295 7'),
  has('IBAN', 'Pay the rent to AT61 1904 3002 3457 3201', 'AT61 1904 3002 3457 3201'),
  has('IBAN', 'numer konta PL61 1090 1014 0000 0712 1981 2874', 'PL61 1090 1014 0000 0712 1981 2874'),
  has('IBAN', 'kontonummer se45 5000 0000 0583 9825 7466', 'se45 5000 0000 0583 9825 7466'),
  has('IBAN', 'Transfer to IE29 AIBK 9311 5212 3456 78 by Friday', 'IE29 AIBK 9311 5212 3456 78'),
  has('IBAN', 'PT50 0002 0123 1234 5678 9015 4 is my Portuguese account', 'PT50 0002 0123 1234 5678 9015 4'),
  has('IBAN', 'Saudi account SA03 8000 0000 6080 1016 7519', 'SA03 8000 0000 6080 1016 7519'),

  // National identity numbers: US SSN and UK National Insurance number.
  has('NATIONAL_ID', 'My SSN is 536-22-1234.', '536-22-1234'),
  has('NATIONAL_ID', 'social security number: 219-09-9999', '219-09-9999'),
  has('NATIONAL_ID', 'Fill in 401-23-7890 on the W-4', '401-23-7890'),
  has('NATIONAL_ID', 'my social security number is 401 22 7890', '401 22 7890'),
  has('NATIONAL_ID', 'SSN: 512345678', '512345678'),
  has('NATIONAL_ID', 'her ssn 078-05-1120 was on the card', '078-05-1120'),
  has('NATIONAL_ID', 'My NI number is AB123456C.', 'AB123456C'),
  has('NATIONAL_ID', 'National Insurance: JG 10 37 59 A', 'JG 10 37 59 A'),
  has('NATIONAL_ID', 'NINO ce 12 34 56 d for the payroll form', 'ce 12 34 56 d'),
  has('NATIONAL_ID', 'put ZR 55 55 55 B in box 3', 'ZR 55 55 55 B'),
  has('NATIONAL_ID', 'Employee SSN 123-45-6789 (test record)', '123-45-6789'),

  // Passwords and access keys.
  has('SECRET', 'password: hunter2', 'hunter2'),
  has('SECRET', 'Login with pwd=Tr0ub4dor&3 tonight', 'Tr0ub4dor&3'),
  has('SECRET', 'Das Passwort: Sonne2024! bitte merken', 'Sonne2024!'),
  has('SECRET', 'the wifi password is Blue-Otter-42', 'Blue-Otter-42'),
  has('SECRET', 'PIN: 4821', '4821'),
  has('SECRET', 'export OPENAI_API_KEY=sk-proj-4fJ9aQ2xLm7Tz0BcVn8RkW3yHs6Dp1Eu', 'sk-proj-4fJ9aQ2xLm7Tz0BcVn8RkW3yHs6Dp1Eu'),
  has('SECRET', 'aws access key AKIAIOSFODNN7EXAMPLE is in the config', 'AKIAIOSFODNN7EXAMPLE'),
  has('SECRET', 'my GitHub token ghp_1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ12', 'ghp_1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ12'),
  has('SECRET', 'slack bot xoxb-2048-4096-Ab3dEf6hIj9kLm', 'xoxb-2048-4096-Ab3dEf6hIj9kLm'),
  has('SECRET', 'client_secret: 8f14e45fceea167a5a36dedd4ea2543f', '8f14e45fceea167a5a36dedd4ea2543f'),
  has('SECRET', 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N'),
  has('SECRET', 'Google key AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY for maps', 'AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY'),
  has('SECRET', 'stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'),
  has('SECRET', 'api key: 3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c', '3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c'),
  has('SECRET', 'passwd = "correct horse battery staple"', '"correct horse battery staple"'),
  has('SECRET', 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'),
];

export const piiBenignSamples: readonly PiiSample[] = [
  // Order, invoice, tracking and reference numbers.
  benign('order', 'Where is my order #4827719305?'),
  benign('order', 'Invoice INV-2024-000123 is overdue.'),
  benign('order', 'Order number 112-4835920-7730215 from Amazon has not arrived.'),
  benign('tracking', 'The UPS tracking number is 1Z999AA10123456784.'),
  benign('tracking', 'USPS tracking 9400 1000 0000 0000 0000 00 shows delivered.'),
  benign('tracking', 'FedEx says 7489 2763 1234 is in transit.'),
  benign('reference', 'My employee number is 00482913.'),
  benign('reference', 'Ticket SR-20240315-0042 is still open.'),
  benign('reference', 'Patent US 7,654,321 B2 covers it.'),
  benign('reference', 'SKU 483920-XL is out of stock.'),
  // Dates and times.
  benign('date', 'The meeting is on 2024-03-15 at 10:30.'),
  benign('date', 'Geburtstag: 15.03.1987'),
  benign('date', 'Due 03/15/2024, paid 04/01/2024.'),
  benign('date', 'From 1999 to 2024 the price doubled.'),
  benign('time', 'The train leaves at 14:45:10 and arrives at 18:05.'),
  benign('date', 'Season 2024-2025 starts in August.'),
  // Prices and quantities.
  benign('price', 'It costs $1,299.99 plus $49.90 shipping.'),
  benign('price', 'Der Preis ist 1.234.567,89 €.'),
  benign('quantity', 'The population is about 8,100,000,000 people.'),
  benign('quantity', 'Set the thermostat to 21.5 °C and the fridge to +5 °C.'),
  benign('quantity', 'Pi is 3.14159265358979 to fifteen figures.'),
  benign('quantity', 'The ratio is 16:9 and the score was 3-2.'),
  // Versions, identifiers, codes.
  benign('version', 'Upgrade Node to 20.11.1 and TypeScript to 5.9.3.'),
  benign('version', 'npm install react@18.2.0 --save'),
  benign('version', 'Python 3.10.12 (main, Nov 20 2023) on linux'),
  benign('version', 'Build 10.0.19045.3693 of Windows 10'),
  benign('identifier', 'The UUID is 550e8400-e29b-41d4-a716-446655440000.'),
  benign('identifier', 'Commit 3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a fixed it.'),
  benign('identifier', 'Ping 192.168.1.1 and then 10.0.0.254.'),
  benign('identifier', 'Coordinates 52.5200, 13.4050'),
  benign('identifier', 'The colour is #ff5733.'),
  // ISBNs.
  benign('isbn', 'ISBN 978-3-16-148410-0'),
  benign('isbn', 'The book has ISBN 978-0-306-40615-7.'),
  benign('isbn', 'ISBN-10: 0-306-40615-2'),
  // Card and IBAN look-alikes that fail their checksums.
  benign('card', 'Is 4111 1111 1111 1112 a valid card number?'),
  benign('card', 'The barcode reads 1234 5678 9012 3456.'),
  benign('card', 'Gift card code 6035 7100 0000 0001.'),
  benign('iban', 'Is DE88 3704 0044 0532 0130 00 a correct IBAN?'),
  benign('iban', 'GB83 WEST 1234 5698 7654 32 was rejected by the bank.'),
  // Invalid SSN shapes and other dashed numbers.
  benign('ssn', 'Numbers starting 000-12-3456 are never issued.'),
  benign('ssn', 'Is 123-00-4567 a real SSN?'),
  benign('ssn', 'Part 100-200-3000 is back-ordered.'),
  // Password and key talk without a password or key in it.
  benign('password', 'Send me the password reset instructions.'),
  benign('password', 'I forgot my password, how do I reset it?'),
  benign('password', 'What makes a strong password?'),
  benign('password', 'The password is incorrect, it says.'),
  benign('password', 'Password: see the sticky note in the drawer.'),
  benign('password', 'My boarding pass: seat 12A, gate B22.'),
  benign('key', 'The key is under the doormat.'),
  benign('key', 'Is an API key the same as a token?'),
  benign('key', 'In SQL, a primary key must be unique.'),
  benign('key', 'What key is this song in? I think E minor.'),
  benign('key', 'Use the composite key order_id_2024_line as the index.'),
  // Email, phone and id look-alikes.
  benign('email', 'Follow @openai and #ai on the site.'),
  benign('email', 'Write to me at my usual address.'),
  benign('email', 'The file is config@v2 in the repo.'),
  benign('phone', 'Call extension 42 or press 0.'),
  benign('phone', 'Room 1204, floor 12, building 3.'),
  benign('phone', 'Flight LH 441 departs at 14:05 from gate B22.'),
  benign('phone', 'Chapter 12, pages 345-389.'),
  benign('phone', 'The zip code is 10115 Berlin.'),
  benign('phone', 'Give it a +1 if you agree.'),
  benign('phone', 'Add 250 g flour, 2 eggs and 125 ml milk.'),
  benign('id', 'The part number is AB12CD34.'),
  benign('id', 'Form W-4 and form 1040 are due.'),
  // Everyday questions with numbers in them.
  benign('everyday', 'What is 15% of 2,480?'),
  benign('everyday', 'Convert 1500000 seconds to days.'),
  benign('everyday', 'Is 7919 a prime number?'),
  benign('everyday', 'How far is 42.195 km in miles?'),
  benign('everyday', 'Set a timer for 25 minutes and another for 1 hour 30.'),
  benign('everyday', 'My flight AF 1234 boards at 06:40 from terminal 2E.'),
  benign('everyday', 'The Wi-Fi network is called Home-5G-2024.'),
  benign('everyday', 'Kundennummer 0815-4711 hat noch nicht bezahlt.'),
  benign('everyday', 'Aktenzeichen 0301/2024 bitte angeben.'),
  benign('everyday', 'Postleitzahl 01067 Dresden'),
  benign('everyday', 'The lottery numbers were 4 11 23 35 42 49.'),
  benign('everyday', 'Bus 38 leaves every 12 minutes from stop 4402.'),
  benign('everyday', 'The Unix time 1700000000 is in November 2023.'),
  benign('everyday', 'Reference 2024/11/0457 on the letter from the council.'),
  benign('everyday', 'Model number KD-55X85J, serial 4012394.'),
  benign('everyday', 'In 1969, 600 million people watched the landing.'),
  benign('everyday', 'Our budget is 12 000 € for 2025 and 14 500 € for 2026.'),
  benign('everyday', 'Read psalm 23:1-6 and John 3:16.'),
  benign('everyday', 'Rate 3.75% fixed for 10 years on 250,000.'),
  benign('everyday', 'Score: 98 / 100, rank 12 of 340.'),
];

export const piiSamples: readonly PiiSample[] = [...piiPositiveSamples, ...piiBenignSamples];
