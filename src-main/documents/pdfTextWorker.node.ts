// Worker-thread entry for extractDocument's PDF path: pdf.js (through unpdf) parses on this thread, so a large or
// hostile PDF cannot stall the thread that streams tokens, and a PDF that takes too long is stopped by terminating the
// thread. One worker reads one file and exits. Only Node built-ins, unpdf and type-only imports: under vitest this
// file is bundled by resolveWorkerScript with npm packages left as imports.
import { parentPort, workerData } from 'node:worker_threads';
import { getDocumentProxy } from 'unpdf';

export interface PdfWorkerData {
  /** The file's bytes; transferred, not copied. */
  data: Uint8Array;
}

export type PdfWorkerReply =
  | { type: 'text'; pages: string[] }
  | { type: 'failed'; reason: 'password' | 'unreadable'; message: string };

if (parentPort === null) throw new Error('pdfTextWorker.node.js must be started as a worker thread.');
const port = parentPort;
const { data } = workerData as PdfWorkerData;

port.postMessage(await readPages(data));

async function readPages(bytes: Uint8Array): Promise<PdfWorkerReply> {
  try {
    // No eval, no font loading: only the text layer is read.
    const pdf = await getDocumentProxy(bytes, { isEvalSupported: false, disableFontFace: true, stopAtErrors: false, verbosity: 0 });
    try {
      const pages: string[] = [];
      for (let number = 1; number <= pdf.numPages; number += 1) {
        const page = await pdf.getPage(number);
        const content = await page.getTextContent();
        let text = '';
        for (const item of content.items) if ('str' in item) text += item.hasEOL ? `${item.str}\n` : item.str;
        pages.push(text);
        page.cleanup();
      }
      return { type: 'text', pages };
    } finally {
      await pdf.destroy();
    }
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    const message = error instanceof Error ? error.message : String(error);
    return { type: 'failed', reason: name === 'PasswordException' ? 'password' : 'unreadable', message };
  }
}
