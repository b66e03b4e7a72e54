import type { FileHandle } from 'node:fs/promises';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Parser } from 'htmlparser2';
import mammoth from 'mammoth';
import { z } from 'zod';
import { AgentError, DOCUMENT_FORMAT_BY_EXTENSION } from '../../src-shared/contract/index.js';
import { resolveWorkerScript } from '../platform/workerScript.node.js';
import type { DocumentFormat, ExtractedDocument } from './documentText.js';
import type { PdfWorkerData } from './pdfTextWorker.node.js';

export interface ExtractOptions {
  signal?: AbortSignal;
  /** The largest file read, in bytes. Default: 20 MB for txt, md and html; 100 MB for pdf and docx. */
  maxBytes?: number;
  /** How long one PDF may take to parse before its worker is stopped. Default 30 s. */
  pdfTimeoutMs?: number;
}

const MB = 1024 * 1024;
export const DEFAULT_TEXT_MAX_BYTES = 20 * MB;
export const DEFAULT_BINARY_MAX_BYTES = 100 * MB;
export const DEFAULT_PDF_TIMEOUT_MS = 30_000;
/** pdf.js's heap for one file; a PDF that needs more is refused instead of taking the app down. */
const PDF_WORKER_HEAP_MB = 2048;

const FORMAT_BY_EXTENSION: Readonly<Record<string, DocumentFormat>> = DOCUMENT_FORMAT_BY_EXTENSION;

/** Whether a folder walk should pick the file up: its extension names a supported format. */
export function isSupportedDocumentPath(filePath: string): boolean {
  return formatOfPath(filePath) !== undefined;
}

function formatOfPath(filePath: string): DocumentFormat | undefined {
  return FORMAT_BY_EXTENSION[path.extname(filePath).toLowerCase()];
}

/**
 * Reads a document as Markdown-like text: `#` headings and blank-line paragraphs. The format comes from the extension;
 * a file with another extension is read as plain text if it is valid UTF-8, and refused otherwise. Every refusal is an
 * AgentError: DOCUMENT_REJECTED with one sentence naming the file and the reason, or CANCELLED when `signal` aborts.
 * The size is checked before a byte is read. PDFs are parsed in a worker thread that is stopped after `pdfTimeoutMs`.
 */
export async function extractDocument(filePath: string, options: ExtractOptions = {}): Promise<ExtractedDocument> {
  const name = displayName(filePath);
  const { signal } = options;
  throwIfAborted(signal, name);
  const format = formatOfPath(filePath);
  const maxBytes = options.maxBytes ?? (format === 'pdf' || format === 'docx' ? DEFAULT_BINARY_MAX_BYTES : DEFAULT_TEXT_MAX_BYTES);
  const bytes = await readWithinLimit(filePath, name, maxBytes, signal);
  switch (format) {
    case 'pdf':
      return extractPdf(bytes, name, options.pdfTimeoutMs ?? DEFAULT_PDF_TIMEOUT_MS, signal);
    case 'docx': {
      const html = await docxToHtml(bytes, name);
      throwIfAborted(signal, name);
      return { format, text: finishText(htmlToDocumentText(html), name) };
    }
    case 'html':
      return { format, text: finishText(htmlToDocumentText(decodeTextFile(bytes, name)), name) };
    case 'md':
      return { format, text: finishText(withoutFrontMatter(normalizeText(decodeTextFile(bytes, name))), name) };
    case 'txt':
      return { format, text: finishText(decodeTextFile(bytes, name), name) };
    case undefined: {
      const text = decodeText(bytes, { strict: true });
      if (text === undefined) throw rejected(`${name} is not a supported document (txt, md, html, pdf, docx).`);
      return { format: 'txt', text: finishText(text, name) };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

async function readWithinLimit(filePath: string, name: string, maxBytes: number, signal: AbortSignal | undefined): Promise<Buffer> {
  // stat by path first: opening a FIFO would block until someone writes to it.
  const stats = await stat(filePath).catch((error: unknown) => {
    throw unreadable(name, error);
  });
  checkStats(stats, name, maxBytes);
  let handle: FileHandle | undefined;
  try {
    handle = await open(filePath, 'r');
    // The file may have been swapped between stat and open: check what was opened.
    checkStats(await handle.stat(), name, maxBytes);
    const bytes = await handle.readFile({ signal });
    if (bytes.length === 0) throw rejected(`${name} is empty.`);
    if (bytes.length > maxBytes) throw tooLarge(name, bytes.length, maxBytes);
    return bytes;
  } catch (error) {
    if (error instanceof AgentError) throw error;
    if (signal?.aborted) throw cancelled(name);
    throw unreadable(name, error);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function checkStats(stats: { isFile(): boolean; isDirectory(): boolean; size: number }, name: string, maxBytes: number): void {
  if (stats.isDirectory()) throw rejected(`${name} is a folder, not a document.`);
  if (!stats.isFile()) throw rejected(`${name} is not a regular file (it is a device, pipe or socket).`);
  if (stats.size === 0) throw rejected(`${name} is empty.`);
  if (stats.size > maxBytes) throw tooLarge(name, stats.size, maxBytes);
}

function unreadable(name: string, error: unknown): AgentError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return rejected(`${name} could not be read: it is no longer there (moved or deleted?).`, detail);
    case 'EACCES':
    case 'EPERM':
      return rejected(`${name} could not be read: permission denied.`, detail);
    case 'EISDIR':
      return rejected(`${name} is a folder, not a document.`, detail);
    case 'EIO':
      return rejected(`${name} could not be read: the disk reported an error.`, detail);
    default:
      return rejected(`${name} could not be read${code ? ` (${code})` : ''}.`, detail);
  }
}

function tooLarge(name: string, size: number, maxBytes: number): AgentError {
  return rejected(`${name} is too large (${formatSize(size)}; the limit is ${formatSize(maxBytes, true)}).`);
}

/** "50.0 MB", "12.3 KB", "900 bytes"; `round` drops a ".0" (for limits: "20 MB"). */
function formatSize(bytes: number, round = false): string {
  const [value, unit] = bytes >= MB ? [bytes / MB, 'MB'] : bytes >= 1024 ? [bytes / 1024, 'KB'] : [bytes, 'bytes'];
  if (unit === 'bytes') return `${value} bytes`;
  const text = value.toFixed(1);
  return `${round && text.endsWith('.0') ? text.slice(0, -2) : text} ${unit}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Text decoding

/** Decodes a file that claims to be text (by its extension), or rejects it as binary. */
function decodeTextFile(bytes: Uint8Array, name: string): string {
  const text = decodeText(bytes, { strict: false });
  if (text === undefined) throw rejected(`${name} is not text (binary data).`);
  return text;
}

/**
 * UTF-8 (BOM stripped), or UTF-16 LE/BE with a BOM. Undefined when the bytes look
 * binary: a NUL byte, many control characters, or (non-strict only) invalid UTF-8 that is not plausibly Windows-1252
 * text. `strict` (an unknown extension) accepts only valid Unicode text.
 */
function decodeText(bytes: Uint8Array, { strict }: { strict: boolean }): string | undefined {
  let text: string;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) text = new TextDecoder('utf-16le').decode(bytes.subarray(2));
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) text = new TextDecoder('utf-16be').decode(bytes.subarray(2));
  else {
    if (bytes.includes(0)) return undefined;
    const hasBom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    } catch {
      if (strict && !hasBom) return undefined;
      // Legacy single-byte text (Latin-1, Windows-1252) is mostly ASCII with few control bytes; junk is not.
      const sample = bytes.subarray(0, 1 << 20);
      let high = 0;
      let control = 0;
      for (const byte of sample) {
        if (byte >= 0x80) high += 1;
        else if (byte < 0x20 && !TEXT_CONTROL_BYTES.has(byte)) control += 1;
      }
      if (hasBom || (high <= sample.length * 0.3 && control <= sample.length * 0.01)) {
        text = hasBom ? new TextDecoder('utf-8').decode(bytes) : decodeWindows1252(bytes);
      } else return undefined;
    }
  }
  return looksBinary(text) ? undefined : text;
}

/**
 * Windows-1252, done here: Node 20's TextDecoder('windows-1252') decodes 0x80–0x9F as Latin-1 C1 controls, losing
 * the curly quotes and dashes that make up most of those bytes in real files.
 */
function decodeWindows1252(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString('latin1')
    .replace(/[\u0080-\u009f]/g, (char) => WINDOWS_1252_C1[char.charCodeAt(0) - 0x80] ?? char);
}

const WINDOWS_1252_C1 = [
  '€', '\u0081', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u008d', 'Ž', '\u008f',
  '\u0090', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u009d', 'ž', 'Ÿ',
];

/** Tab, LF, VT, FF, CR and ESC (colour codes in logs) are normal in text files. */
const TEXT_CONTROL_BYTES = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1b]);

function looksBinary(text: string): boolean {
  const length = Math.min(text.length, 1 << 20);
  let suspicious = 0;
  for (let i = 0; i < length; i += 1) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && !TEXT_CONTROL_BYTES.has(code)) || code === 0xfffd) suspicious += 1;
  }
  return suspicious > Math.max(2, length * 0.02);
}

/**
 * One newline convention (\n), no control characters but \n and \t (ANSI colour codes dropped whole), NFC, no trailing
 * spaces, at most one blank line in a row.
 */
function normalizeText(text: string): string {
  return text
    .replace(/\r\n?|[\u2028\u2029\f\v]/g, '\n')
    .replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/[\u0000-\u0008\u000e-\u001f\u007f-\u009f\ufeff]/g, '')
    .normalize('NFC')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n');
}

function finishText(text: string, name: string): string {
  const trimmed = normalizeText(text).trim();
  if (trimmed === '') throw rejected(`${name} has no text.`);
  return trimmed;
}

/** Drops YAML (`---`) or TOML (`+++`) front matter that starts the file with a `key:` / `key =` line. */
function withoutFrontMatter(markdown: string): string {
  const match = /^(---|\+\+\+)[ \t]*\n[\w-]+[ \t]*[:=]/.exec(markdown);
  if (!match) return markdown;
  const fence = match[1]!;
  const close = new RegExp(`\\n(?:${fence === '---' ? '---|\\.\\.\\.' : '\\+\\+\\+'})[ \\t]*(?:\\n|$)`, 'g');
  close.lastIndex = fence.length;
  const end = close.exec(markdown);
  return end ? markdown.slice(end.index + end[0].length) : markdown;
}

// ---------------------------------------------------------------------------------------------------------------
// HTML (and docx, through mammoth's HTML)

/** Elements whose content is not part of the document's text. */
const SKIPPED_ELEMENTS = new Set(['head', 'script', 'style', 'noscript', 'template', 'svg', 'math', 'iframe', 'object', 'canvas']);
const BLOCK_ELEMENTS = new Set([
  'address', 'article', 'aside', 'blockquote', 'body', 'caption', 'center', 'dd', 'details', 'dialog', 'div', 'dl', 'dt',
  'fieldset', 'figcaption', 'figure', 'footer', 'form', 'header', 'hgroup', 'hr', 'html', 'legend', 'li', 'main', 'nav',
  'ol', 'p', 'section', 'summary', 'table', 'tbody', 'tfoot', 'thead', 'tr', 'ul',
]);
const HEADING_LEVELS: Readonly<Record<string, number>> = { h1: 1, h2: 2, h3: 3, h4: 4, h5: 5, h6: 6 };

/**
 * HTML as Markdown-like text: h1–h6 become `#` headings; paragraphs, list items ("- "), table rows (cells joined by
 * " | ") and other blocks become blank-line separated blocks; <pre> becomes a fenced block; <br> a line break.
 * head, script, style, noscript, template, svg, math, iframe, object, canvas and `hidden` elements are dropped.
 * Entities are decoded. The <title> becomes the top heading unless the first heading already says the same.
 */
export function htmlToDocumentText(html: string): string {
  const writer = new BlockWriter();
  const open: { name: string; skipped: boolean }[] = [];
  let title = '';
  let inTitle = false;
  const parser = new Parser(
    {
      onopentag(name, attributes) {
        if (name === 'title' && title === '' && open.every((element) => element.name === 'html' || element.name === 'head')) inTitle = true;
        const skipped = (open.at(-1)?.skipped ?? false) || SKIPPED_ELEMENTS.has(name) || 'hidden' in attributes || attributes['aria-hidden'] === 'true';
        open.push({ name, skipped });
        if (!skipped) writer.open(name);
      },
      ontext(text) {
        if (inTitle) title += text;
        else if (!(open.at(-1)?.skipped ?? false)) writer.text(text);
      },
      onclosetag(name) {
        // htmlparser2 closes every element it opened, innermost first (implied closes included).
        const element = open.pop();
        if (name === 'title') inTitle = false;
        if (element && !element.skipped) writer.close(name);
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  const blocks = writer.finish();
  const heading = collapseSpaces(title);
  if (heading !== '') {
    const firstHeading = blocks.find((block) => block.startsWith('#'))?.replace(/^#+ /, '');
    if (firstHeading?.toLowerCase() !== heading.toLowerCase()) blocks.unshift(`# ${heading}`);
  }
  return blocks.join('\n\n');
}

/** Collects text into blocks as the HTML walker opens and closes elements. */
class BlockWriter {
  readonly #blocks: string[] = [];
  /** The current block's lines, each a list of text pieces (joined and whitespace-collapsed on flush). */
  #lines: string[][] = [[]];
  #headingLevel = 0;
  #listItem = false;
  #preDepth = 0;
  #preText = '';

  text(text: string): void {
    if (this.#preDepth > 0) this.#preText += text;
    else this.#lines.at(-1)!.push(text);
  }

  open(name: string): void {
    const level = HEADING_LEVELS[name];
    if (level !== undefined) {
      this.#flush();
      this.#headingLevel = level;
    } else if (name === 'br') {
      if (this.#preDepth > 0) this.#preText += '\n';
      else this.#lines.push([]);
    } else if (name === 'pre') {
      if (this.#preDepth === 0) this.#flush();
      this.#preDepth += 1;
    } else if (name === 'td' || name === 'th') {
      const line = this.#lines.at(-1)!;
      if (line.some((piece) => /\S/.test(piece))) line.push(' | ');
    } else if (BLOCK_ELEMENTS.has(name)) {
      this.#flush();
      if (name === 'li') this.#listItem = true;
    }
  }

  close(name: string): void {
    if (HEADING_LEVELS[name] !== undefined || BLOCK_ELEMENTS.has(name)) {
      this.#flush();
      if (HEADING_LEVELS[name] !== undefined) this.#headingLevel = 0;
      if (name === 'li') this.#listItem = false;
    } else if (name === 'pre' && this.#preDepth > 0) {
      this.#preDepth -= 1;
      if (this.#preDepth === 0) this.#flushPre();
    }
  }

  finish(): string[] {
    if (this.#preDepth > 0) this.#flushPre();
    this.#flush();
    return this.#blocks;
  }

  #flush(): void {
    const lines = this.#lines.map((pieces) => collapseSpaces(pieces.join(''))).filter((line) => line !== '');
    this.#lines = [[]];
    // A heading or list item whose text has not started yet (<li><p>…) keeps its mark for its first block.
    if (lines.length === 0) return;
    const headingLevel = this.#headingLevel;
    const listItem = this.#listItem;
    this.#headingLevel = 0;
    this.#listItem = false;
    if (headingLevel > 0) {
      this.#blocks.push(`${'#'.repeat(headingLevel)} ${lines.join(' ')}`);
      return;
    }
    // Text that would read as Markdown structure (a heading, a code fence) is escaped, so the chunker sees a paragraph.
    const escaped = lines.map((line) => (/^(#{1,6}(\s|$)|```|~~~)/.test(line) ? `\\${line}` : line));
    if (listItem) escaped[0] = `- ${escaped[0]}`;
    this.#blocks.push(escaped.join('\n'));
  }

  #flushPre(): void {
    // A newline right after <pre> is not content (HTML spec); the fence outlasts any backtick run inside.
    const code = this.#preText.replace(/^\r?\n/, '').replace(/\s+$/, '');
    this.#preText = '';
    if (code.trim() === '') return;
    const longestRun = Math.max(2, ...Array.from(code.matchAll(/`+/g), (run) => run[0].length));
    const fence = '`'.repeat(longestRun + 1);
    this.#blocks.push(`${fence}\n${code}\n${fence}`);
  }
}

function collapseSpaces(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

async function docxToHtml(bytes: Buffer, name: string): Promise<string> {
  const isZip = bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 0x03 || bytes[2] === 0x05) && (bytes[3] === 0x04 || bytes[3] === 0x06);
  if (!isZip) {
    // Old binary .doc files and password-protected .docx files are both OLE compound files.
    if (bytes[0] === 0xd0 && bytes[1] === 0xcf && bytes[2] === 0x11 && bytes[3] === 0xe0) {
      throw rejected(`${name} is an old Word .doc file or is password-protected; save it as .docx without a password and add it again.`);
    }
    throw rejected(`${name} is not a Word document: a .docx file is a zip archive, and this one is not.`);
  }
  try {
    // Images are dropped: only text is kept, and inlined base64 images would only cost memory.
    const result = await mammoth.convertToHtml({ buffer: bytes }, { convertImage: mammoth.images.imgElement(() => Promise.resolve({ src: '' })) });
    return result.value;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw rejected(`${name} could not be read as a Word document: ${shortReason(detail)}.`, detail);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// PDF

async function extractPdf(bytes: Buffer, name: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<ExtractedDocument> {
  const pages = await readPdfPages(bytes, name, timeoutMs, signal);
  const text = pages.map((page) => normalizeText(joinHyphenatedLines(page)).trim()).filter((page) => page !== '');
  if (text.length === 0) throw rejected(`${name} has no text layer (scanned?); run it through OCR (text recognition) first.`);
  return { format: 'pdf', text: finishText(text.join('\n\n'), name), pages: pages.length };
}

/** "exam-\nple" → "example" when both sides are lower-case letters; "Jean-\nPaul" and "2020-\n2021" stay. */
function joinHyphenatedLines(text: string): string {
  return text.replace(/(\p{Ll})-\n(\p{Ll})/gu, '$1$2');
}

const PdfWorkerReply = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), pages: z.array(z.string()) }),
  z.object({ type: z.literal('failed'), reason: z.enum(['password', 'unreadable']), message: z.string() }),
]);

function pdfWorkerUrl(): Promise<URL> {
  return resolveWorkerScript(new URL('./pdfTextWorker.node.js', import.meta.url), new URL('./pdfTextWorker.node.ts', import.meta.url));
}

/** Parses the PDF in a worker of its own, which is terminated on timeout, on abort, and when it has answered. */
async function readPdfPages(bytes: Buffer, name: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<string[]> {
  let url: URL;
  try {
    url = await pdfWorkerUrl();
  } catch (error) {
    throw new AgentError('INTERNAL', 'The PDF reader could not be started; reinstall the app.', error instanceof Error ? error.message : String(error));
  }
  throwIfAborted(signal, name);
  // Transfer, not copy: the worker gets the bytes without a second 100 MB buffer (a pooled Buffer is copied first).
  const data = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? new Uint8Array(bytes.buffer) : new Uint8Array(bytes);
  return new Promise<string[]>((resolve, reject) => {
    let worker: Worker;
    try {
      worker = new Worker(url, {
        workerData: { data } satisfies PdfWorkerData,
        transferList: [data.buffer as ArrayBuffer],
        resourceLimits: { maxOldGenerationSizeMb: PDF_WORKER_HEAP_MB },
        stdout: true, // pdf.js may print warnings; they are not the user's business
        stderr: true,
      });
    } catch (error) {
      reject(new AgentError('INTERNAL', 'The PDF reader could not be started; reinstall the app.', error instanceof Error ? error.message : String(error)));
      return;
    }
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      outcome();
    };
    const timer = setTimeout(
      () => settle(() => reject(rejected(`${name} took longer than ${formatSeconds(timeoutMs)} to read; it may be damaged or very complex.`))),
      // setTimeout fires at once for anything over 2^31 - 1 ms (about 24 days).
      Math.min(timeoutMs, MAX_TIMER_MS),
    );
    const onAbort = () => settle(() => reject(cancelled(name)));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.stdout.resume();
    worker.stderr.resume();
    worker.on('message', (message: unknown) => {
      const reply = PdfWorkerReply.safeParse(message);
      settle(() => {
        if (!reply.success) reject(rejected(`${name} could not be read as a PDF: the reader sent an unreadable reply.`));
        else if (reply.data.type === 'text') resolve(reply.data.pages);
        else if (reply.data.reason === 'password') reject(rejected(`${name} is password-protected; remove the password and add it again.`, reply.data.message));
        else reject(rejected(`${name} could not be read as a PDF: ${shortReason(reply.data.message)}.`, reply.data.message));
      });
    });
    worker.on('error', (error: Error & { code?: string }) =>
      settle(() =>
        reject(
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? rejected(`${name} could not be read as a PDF: it needs more than ${PDF_WORKER_HEAP_MB / 1024} GB of memory.`, error.message)
            : rejected(`${name} could not be read as a PDF: the reader stopped unexpectedly.`, error.message),
        ),
      ),
    );
    worker.on('exit', (exitCode) => settle(() => reject(rejected(`${name} could not be read as a PDF: the reader stopped unexpectedly.`, `worker exit code ${exitCode}`))));
  });
}

const MAX_TIMER_MS = 2 ** 31 - 1;

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toPrecision(2))} s`;
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** The file's base name, with control characters (a newline in a name) made visible as "?". */
function displayName(filePath: string): string {
  return path.basename(filePath).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?') || filePath;
}

/** The first line of a parser's message, without a trailing period, at most 120 characters. */
function shortReason(message: string): string {
  const line = (message.split('\n')[0] ?? '').trim().replace(/[.:]+$/, '');
  const short = line.length > 120 ? `${line.slice(0, 117)}...` : line;
  return short === '' ? 'unknown error' : short.charAt(0).toLowerCase() + short.slice(1);
}

function rejected(message: string, detail?: string): AgentError {
  return new AgentError('DOCUMENT_REJECTED', message, detail);
}

function cancelled(name: string): AgentError {
  return new AgentError('CANCELLED', `Reading ${name} was cancelled.`);
}

function throwIfAborted(signal: AbortSignal | undefined, name: string): void {
  if (signal?.aborted) throw cancelled(name);
}
