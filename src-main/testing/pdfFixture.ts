// Small, valid PDFs written by hand for tests: no PDF library or ghostscript needed, and every byte is known.
import { writeFileSync } from 'node:fs';

/**
 * Writes a PDF with one page per entry of `pages`, each line drawn in 12 pt Helvetica (Type1, WinAnsi), top to bottom.
 * Lines may hold Latin-1 characters; parentheses and backslashes are escaped.
 */
export function writeTextPdf(path: string, pages: string[][]): void {
  writeFileSync(path, textPdf(pages));
}

export function textPdf(pages: string[][]): Buffer {
  const builder = new PdfBuilder();
  const font = builder.add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
  const pageIds = pages.map((lines) => {
    const drawn = lines.map((line, index) => `${index === 0 ? '72 720 Td' : '0 -16 Td'} (${pdfString(line)}) Tj`).join('\n');
    const content = builder.addStream('', `BT\n/F1 12 Tf\n${drawn}\nET`);
    return builder.addPage(`/Resources << /Font << /F1 ${font} 0 R >> >> /Contents ${content} 0 R`);
  });
  return builder.finish(pageIds);
}

/** Writes a one-page PDF whose page is only an image (a 4×4 grey checkerboard): what a scanner produces, no text layer. */
export function writeScannedPdf(path: string): void {
  writeFileSync(path, scannedPdf());
}

export function scannedPdf(): Buffer {
  const builder = new PdfBuilder();
  const pixels = Buffer.from([0, 255, 0, 255, 255, 0, 255, 0, 0, 255, 0, 255, 255, 0, 255, 0]);
  const image = builder.addStream('/Type /XObject /Subtype /Image /Width 4 /Height 4 /ColorSpace /DeviceGray /BitsPerComponent 8', pixels);
  const content = builder.addStream('', 'q\n400 0 0 400 100 300 cm\n/Im1 Do\nQ');
  const page = builder.addPage(`/Resources << /XObject << /Im1 ${image} 0 R >> >> /Contents ${content} 0 R`);
  return builder.finish([page]);
}

/** Bytes that start like a PDF and then are garbage: what a broken download looks like. */
export function corruptPdf(): Buffer {
  return Buffer.concat([Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catal', 'latin1'), Buffer.alloc(64, 0x5a)]);
}

function pdfString(text: string): string {
  for (const char of text) {
    if (char.codePointAt(0)! > 0xff) throw new Error(`writeTextPdf draws Latin-1 only; ${JSON.stringify(char)} is not.`);
  }
  return text.replace(/[\\()]/g, (char) => `\\${char}`);
}

/** Objects numbered from 1; object 1 is the catalog and 2 the page tree, filled in by `finish`. */
class PdfBuilder {
  readonly #bodies: Buffer[] = [];

  constructor() {
    this.#bodies.push(Buffer.alloc(0), Buffer.alloc(0)); // catalog, pages
  }

  add(body: string | Buffer): number {
    this.#bodies.push(typeof body === 'string' ? Buffer.from(body, 'latin1') : body);
    return this.#bodies.length;
  }

  addStream(dictionary: string, data: string | Buffer): number {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    return this.add(Buffer.concat([Buffer.from(`<< ${dictionary} /Length ${bytes.length} >>\nstream\n`, 'latin1'), bytes, Buffer.from('\nendstream', 'latin1')]));
  }

  addPage(entries: string): number {
    return this.add(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] ${entries} >>`);
  }

  finish(pageIds: number[]): Buffer {
    this.#bodies[0] = Buffer.from('<< /Type /Catalog /Pages 2 0 R >>', 'latin1');
    this.#bodies[1] = Buffer.from(`<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pageIds.length} >>`, 'latin1');
    // The binary comment on line 2 tells tools the file is binary (PDF 32000-1, 7.5.2).
    const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
    let offset = parts[0]!.length;
    const offsets: number[] = [];
    this.#bodies.forEach((body, index) => {
      offsets.push(offset);
      const object = Buffer.concat([Buffer.from(`${index + 1} 0 obj\n`, 'latin1'), body, Buffer.from('\nendobj\n', 'latin1')]);
      parts.push(object);
      offset += object.length;
    });
    // Each cross-reference entry is exactly 20 bytes: 10-digit offset, space, 5-digit generation, space, n/f, space, LF.
    const xref = [`xref\n0 ${offsets.length + 1}\n`, '0000000000 65535 f \n', ...offsets.map((at) => `${String(at).padStart(10, '0')} 00000 n \n`)].join('');
    parts.push(Buffer.from(`${xref}trailer\n<< /Size ${offsets.length + 1} /Root 1 0 R >>\nstartxref\n${offset}\n%%EOF\n`, 'latin1'));
    return Buffer.concat(parts);
  }
}
