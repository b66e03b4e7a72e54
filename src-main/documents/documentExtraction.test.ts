import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import JSZip from 'jszip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentError } from '../../src-shared/contract/index.js';
import { corruptPdf, writeScannedPdf, writeTextPdf } from '../testing/pdfFixture.js';
import { chunkDocument } from './documentChunker.js';
import { extractDocument, htmlToDocumentText, isSupportedDocumentPath } from './documentExtraction.node.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'document-extraction-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const filePath = path.join(dir, name);
  writeFileSync(filePath, content);
  return filePath;
}

/** The AgentError extractDocument rejects with; fails the test if it resolves or throws anything else. */
async function rejection(promise: Promise<unknown>): Promise<AgentError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error, 'extractDocument rejects').toBeInstanceOf(AgentError);
  const agentError = error as AgentError;
  // One plain sentence: no stack, no newline.
  expect(agentError.message).not.toMatch(/\n|\bat .*:\d+:\d+/);
  return agentError;
}

async function refusal(filePath: string, options?: Parameters<typeof extractDocument>[1]): Promise<string> {
  const error = await rejection(extractDocument(filePath, options));
  expect(error.code).toBe('DOCUMENT_REJECTED');
  expect(error.message.startsWith(path.basename(filePath))).toBe(true);
  return error.message;
}

describe('extractDocument: plain text', () => {
  it('reads UTF-8, drops the BOM, normalises newlines and strips control characters but tabs', async () => {
    const filePath = file('notes.txt', '\ufeffLine one\r\nLine\ttwo\u0007\rLine three\u0000'.replace('\u0000', '') + '\x1b[31m red\x1b[0m\n');
    await expect(extractDocument(filePath)).resolves.toEqual({ format: 'txt', text: 'Line one\nLine\ttwo\nLine three red' });
  });

  it('reads UTF-16 LE and BE with a BOM', async () => {
    const text = 'Grüße aus Köln — 東京';
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const be = Buffer.from(le);
    be.swap16();
    expect((await extractDocument(file('le.txt', le))).text).toBe(text);
    expect((await extractDocument(file('be.txt', be))).text).toBe(text);
  });

  it('reads legacy Windows-1252 text that is not valid UTF-8', async () => {
    const latin1 = Buffer.from('Caf\xe9 cr\xe8me \x96 na\xefve', 'latin1');
    expect((await extractDocument(file('legacy.log', latin1))).text).toBe('Café crème – naïve');
  });

  it('reads a file with an unknown extension as text when it is UTF-8', async () => {
    await expect(extractDocument(file('README', 'Plain words.\n'))).resolves.toEqual({ format: 'txt', text: 'Plain words.' });
    expect(await refusal(file('photo.jpg', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01])))).toBe(
      'photo.jpg is not a supported document (txt, md, html, pdf, docx).',
    );
    expect(await refusal(file('archive.bin', Buffer.from('Caf\xe9', 'latin1')))).toContain('is not a supported document');
  });

  it('refuses an empty file, a blank one, and binary data with a text extension', async () => {
    expect(await refusal(file('empty.txt', ''))).toBe('empty.txt is empty.');
    expect(await refusal(file('blank notes.md', ' \n\t\r\n  \n'))).toBe('blank notes.md has no text.');
    expect(await refusal(file('nul.txt', Buffer.from('text\u0000more text')))).toBe('nul.txt is not text (binary data).');
    const junk = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 255 + 1));
    expect(await refusal(file('junk.txt', junk))).toBe('junk.txt is not text (binary data).');
    expect(await refusal(file('junk.html', junk))).toBe('junk.html is not text (binary data).');
  });

  it('refuses a file over the limit from its size alone, without reading it', async () => {
    const filePath = file('huge.txt', '');
    truncateSync(filePath, 50 * 1024 * 1024); // sparse: no disk used
    const before = process.memoryUsage();
    const message = await refusal(filePath);
    const after = process.memoryUsage();
    expect(message).toBe('huge.txt is too large (50.0 MB; the limit is 20 MB).');
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(5 * 1024 * 1024);
    expect(after.rss - before.rss).toBeLessThan(20 * 1024 * 1024);
    expect(await refusal(filePath, { maxBytes: 1024 })).toBe('huge.txt is too large (50.0 MB; the limit is 1 KB).');
    // A PDF may be larger: 100 MB.
    const pdf = file('huge.pdf', '');
    truncateSync(pdf, 101 * 1024 * 1024);
    expect(await refusal(pdf)).toBe('huge.pdf is too large (101.0 MB; the limit is 100 MB).');
  });

  it('refuses what it cannot read: missing, a folder, a device', async () => {
    expect(await refusal(path.join(dir, 'gone.txt'))).toBe('gone.txt could not be read: it is no longer there (moved or deleted?).');
    const folder = path.join(dir, 'folder.md');
    mkdirSync(folder);
    expect(await refusal(folder)).toBe('folder.md is a folder, not a document.');
    expect(await refusal('/dev/zero')).toBe('zero is not a regular file (it is a device, pipe or socket).');
  });

  it.skipIf(process.getuid?.() === 0)('refuses a file it has no permission to read', async () => {
    const filePath = file('secret.txt', 'hidden');
    const { chmodSync } = await import('node:fs');
    chmodSync(filePath, 0o000);
    expect(await refusal(filePath)).toBe('secret.txt could not be read: permission denied.');
  });

  it('rejects with CANCELLED when the signal is already aborted', async () => {
    const error = await rejection(extractDocument(file('late.txt', 'text'), { signal: AbortSignal.abort() }));
    expect(error.code).toBe('CANCELLED');
    expect(error.message).toBe('Reading late.txt was cancelled.');
  });

  it('says which files a folder walk picks up', () => {
    for (const name of ['a.txt', 'b.TEXT', 'c.log', 'd.md', 'e.Markdown', 'f.html', 'g.HTM', 'h.pdf', 'i.docx']) expect(isSupportedDocumentPath(`/x/${name}`)).toBe(true);
    for (const name of ['a.doc', 'b.jpg', 'README', 'c.pdf.part', '.md']) expect(isSupportedDocumentPath(`/x/${name}`)).toBe(false);
  });
});

describe('extractDocument: Markdown', () => {
  it('keeps the Markdown and drops front matter', async () => {
    const markdown = '---\ntitle: Bread\ntags: [baking]\n---\n# Bread\n\nKnead *well*.\n\n---\n\nMore.\n';
    await expect(extractDocument(file('bread.md', markdown))).resolves.toEqual({ format: 'md', text: '# Bread\n\nKnead *well*.\n\n---\n\nMore.' });
    // A leading thematic break is not front matter.
    expect((await extractDocument(file('rule.markdown', '---\n\nText.\n\n---\n'))).text).toBe('---\n\nText.\n\n---');
  });
});

describe('extractDocument: HTML', () => {
  const page = `<!doctype html>
<html><head><title>Sourdough &amp; Friends</title><style>body { color: red }</style>
<script>var secret = "SCRIPT_TEXT";</script></head>
<body>
  <noscript>NOSCRIPT_TEXT</noscript><template><p>TEMPLATE_TEXT</p></template>
  <svg><title>SVG_TITLE</title><text>SVG_TEXT</text></svg>
  <nav hidden>HIDDEN_TEXT</nav>
  <h1>Starter</h1>
  <p>Feed it   flour&nbsp;and water &mdash; daily.<br>Keep it warm.</p>
  <h2>Schedule</h2>
  <ul><li>Morning: feed</li><li>Evening: <b>discard</b> half</li></ul>
  <table><tr><th>Day</th><th>Flour</th></tr><tr><td>Mon</td><td>50 g</td></tr></table>
  <pre><code>
# bake at 230 °C
bake --hot
</code></pre>
  <p># not a heading</p>
  <script>document.write("LATE_SCRIPT")</script>
</body></html>`;

  it('keeps the words and the headings, and drops scripts, styles and hidden parts', async () => {
    const { format, text } = await extractDocument(file('starter.html', page));
    expect(format).toBe('html');
    expect(text).toBe(
      [
        '# Sourdough & Friends',
        '# Starter',
        'Feed it flour and water — daily.\nKeep it warm.',
        '## Schedule',
        '- Morning: feed',
        '- Evening: discard half',
        'Day | Flour',
        'Mon | 50 g',
        '```\n# bake at 230 °C\nbake --hot\n```',
        '\\# not a heading',
      ].join('\n\n'),
    );
    for (const hidden of ['SCRIPT_TEXT', 'color: red', 'NOSCRIPT_TEXT', 'TEMPLATE_TEXT', 'SVG_TITLE', 'SVG_TEXT', 'HIDDEN_TEXT', 'LATE_SCRIPT']) {
      expect(text).not.toContain(hidden);
    }
  });

  it('gives the chunker headings to split on', async () => {
    const { text } = await extractDocument(file('starter.htm', page));
    expect(chunkDocument(text).map((chunk) => chunk.headingPath)).toEqual([['Starter'], ['Starter', 'Schedule']]);
  });

  it('does not repeat a title that the first heading already says', () => {
    expect(htmlToDocumentText('<title>Guide</title><h1>Guide</h1><p>Text</p>')).toBe('# Guide\n\nText');
    expect(htmlToDocumentText('<p>Unclosed <p>paragraphs<div>and text</div>')).toBe('Unclosed\n\nparagraphs\n\nand text');
    expect(htmlToDocumentText('<ul><li><p>Loose item</p><p>More of it</p></li><li></li></ul><p>After</p><h2><span>Deep</span> title</h2>')).toBe(
      '- Loose item\n\nMore of it\n\nAfter\n\n## Deep title',
    );
  });

  it('refuses a page with no visible text', async () => {
    expect(await refusal(file('empty-page.html', '<html><head><title> </title><script>x()</script></head><body> </body></html>'))).toBe(
      'empty-page.html has no text.',
    );
  });
});

describe('extractDocument: PDF', () => {
  it('reads the text layer of every page, joining hyphenated line breaks', async () => {
    const filePath = path.join(dir, 'guide.pdf');
    writeTextPdf(filePath, [
      ['Sourdough guide (2nd edition)', 'Feed the starter with rye flour and water, then wait un-', 'til it doubles.'],
      ['Page two: shaping the loaf.', 'Jean-', 'Paul folds it twice.'],
      ['Page three: baking at 230 degrees, café style.'],
    ]);
    const started = performance.now();
    const extracted = await extractDocument(filePath);
    console.log(`3-page PDF extracted in ${(performance.now() - started).toFixed(0)} ms (worker start included)`);
    expect(extracted.format).toBe('pdf');
    expect(extracted.pages).toBe(3);
    expect(extracted.text).toContain('Sourdough guide (2nd edition)');
    expect(extracted.text).toContain('wait until it doubles.');
    expect(extracted.text).toContain('Jean-\nPaul folds it twice.');
    expect(extracted.text).toContain('café style.');
    // Pages are separated by a blank line.
    expect(extracted.text.split('\n\n')).toHaveLength(3);
  });

  it('refuses a scanned PDF: pages of images, no text layer', async () => {
    const filePath = path.join(dir, 'scan.pdf');
    writeScannedPdf(filePath);
    expect(await refusal(filePath)).toMatch(/^scan\.pdf has no text layer \(scanned\?\)/);
  });

  it('refuses a corrupt PDF with a short reason', async () => {
    const message = await refusal(file('broken.pdf', corruptPdf()));
    expect(message).toMatch(/^broken\.pdf could not be read as a PDF: .{3,130}\.$/);
    expect(await refusal(file('not-really.pdf', 'Just some text pretending to be a PDF.'))).toMatch(/^not-really\.pdf could not be read as a PDF: /);
  });

  it('stops a PDF that takes longer than its time limit', async () => {
    const filePath = path.join(dir, 'slow.pdf');
    writeTextPdf(filePath, [['Some text.']]);
    // Starting a worker and loading pdf.js takes far longer than 1 ms.
    expect(await refusal(filePath, { pdfTimeoutMs: 1 })).toMatch(/^slow\.pdf took longer than 0\.001 s to read/);
  });

  it('rejects with CANCELLED when aborted while the PDF is being read', async () => {
    const filePath = path.join(dir, 'aborted.pdf');
    writeTextPdf(filePath, [['Some text.']]);
    const controller = new AbortController();
    const extraction = extractDocument(filePath, { signal: controller.signal });
    setTimeout(() => controller.abort(), 5);
    const error = await rejection(extraction);
    expect(error.code).toBe('CANCELLED');
    expect(error.message).toBe('Reading aborted.pdf was cancelled.');
  });
});

describe('extractDocument: docx', () => {
  it('reads a Word document through HTML, keeping its headings', async () => {
    const docx = await buildDocx([
      ['Heading1', 'Bread basics'],
      [undefined, 'Mix flour & water.'],
      ['Heading2', 'Timing'],
      [undefined, 'Rest for 30 minutes.'],
    ]);
    const extracted = await extractDocument(file('bread.docx', docx));
    expect(extracted).toEqual({ format: 'docx', text: '# Bread basics\n\nMix flour & water.\n\n## Timing\n\nRest for 30 minutes.' });
    expect(chunkDocument(extracted.text).map((chunk) => chunk.headingPath)).toEqual([['Bread basics'], ['Bread basics', 'Timing']]);
  });

  it('refuses a .docx that is not a zip, an old .doc, and a zip that is not a Word document', async () => {
    expect(await refusal(file('fake.docx', 'plain text, not a zip'))).toBe('fake.docx is not a Word document: a .docx file is a zip archive, and this one is not.');
    const ole = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(504)]);
    expect(await refusal(file('old.docx', ole))).toBe('old.docx is an old Word .doc file or is password-protected; save it as .docx without a password and add it again.');
    const zip = new JSZip();
    zip.file('hello.txt', 'not word');
    const notWord = await zip.generateAsync({ type: 'nodebuffer' });
    expect(await refusal(file('other.docx', notWord))).toMatch(/^other\.docx could not be read as a Word document: .+\.$/);
  });
});

/** A minimal real .docx: paragraphs with an optional built-in heading style. */
async function buildDocx(paragraphs: [style: string | undefined, text: string][]): Promise<Buffer> {
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"';
  const body = paragraphs
    .map(([style, text]) => `<w:p>${style ? `<w:pPr><w:pStyle w:val="${style}"/></w:pPr>` : ''}<w:r><w:t>${escape(text)}</w:t></w:r></w:p>`)
    .join('');
  const zip = new JSZip();
  zip.file(
    '[Content_Types].xml',
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
      '<Default Extension="xml" ContentType="application/xml"/>' +
      '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>' +
      '<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/></Types>',
  );
  zip.file(
    '_rels/.rels',
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
      '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
  );
  zip.file(
    'word/_rels/document.xml.rels',
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
      '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>',
  );
  zip.file(
    'word/styles.xml',
    `<?xml version="1.0" encoding="UTF-8"?><w:styles ${w}>` +
      '<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/></w:style>' +
      '<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/></w:style></w:styles>',
  );
  zip.file('word/document.xml', `<?xml version="1.0" encoding="UTF-8"?><w:document ${w}><w:body>${body}</w:body></w:document>`);
  return zip.generateAsync({ type: 'nodebuffer' });
}
