export const DOCUMENT_FORMATS = ['txt', 'md', 'html', 'pdf', 'docx'] as const;
export type DocumentFormat = (typeof DOCUMENT_FORMATS)[number];

/** A document's text, as Markdown-like plain text: `#` headings and blank-line paragraphs, so the chunker can split it. */
export interface ExtractedDocument {
  format: DocumentFormat;
  text: string;
  /** PDF pages, when known. */
  pages?: number;
}

/** A piece of a document sized for the embedder and the prompt. */
export interface DocumentChunk {
  /** 0-based position in the document. */
  ordinal: number;
  text: string;
  /** The headings above the chunk, outermost first ("Recipes", "Sourdough"). */
  headingPath: string[];
}
