/**
 * Turns LLM output (markdown-ish) into what a voice should say: the words, without markup, code, URLs or
 * emoji. Returns '' when nothing speakable remains, so the caller can skip the sentence.
 */
export function toSpeakableText(markdownish: string): string {
  // Nested markup ("- **[x](u)**", "🙂 - item") can expose new markup once the outer layer is gone,
  // so the rules run until nothing changes; this also makes the function idempotent.
  let text = markdownish;
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const next = cleanOnce(text);
    if (next === text) break;
    text = next;
  }
  return text;
}

const MAX_PASSES = 6;

const FENCE_LINE = /^[ \t]*(`{3,}|~{3,})/;
const HTML_COMMENT = /<!--[\s\S]*?(?:-->|$)/g;
const HTML_TAG = /<\/?[A-Za-z][^<>]*>/g;
const HTML_ENTITY = /&(?:#\d{1,7}|#x[\da-f]{1,6}|[a-z]{2,8});/gi;
const IMAGE = /!\[[^\]]*\]\([^)]*\)/g;
const INLINE_LINK = /\[([^\]]*)\]\([^)]*\)/g;
const REFERENCE_LINK = /\[([^\]]+)\]\[[^\]]*\]/g;
const REFERENCE_DEFINITION = /^[ \t]*\[[^\]]+\]:[ \t]*\S.*$/;
/** A URL, leaving out the punctuation that ends the sentence around it. */
const URL = /(?:(?:https?|ftp|file):\/\/|www\.)\S*?(?=[.,:;!?)\]]*(?:\s|$))/gi;
const INLINE_CODE = /(`+)([^`]*?)\1/g;
/** A citation marker such as [1], [2, 3], [1-2] or [passage 1]: the sources are shown, never read out. */
const CITATION_MARKER = /\[(?:(?:passage|source|doc(?:ument)?)\s*)?\d{1,3}(?:\s*[,–-]\s*\d{1,3})*\]/gi;
const LINE_MARKER = /^[ \t]*(?:#{1,6}(?=\s|$)|>|[-*+•](?=\s)|\d{1,3}[.)](?=\s)|\[[ xX]\](?=\s))[ \t]*/;
const HEADING_OR_LIST_MARKER = /^[ \t]*(?:#{1,6}(?=\s|$)|[-*+•](?=\s)|\d{1,3}[.)](?=\s))/;
const HORIZONTAL_RULE = /^[ \t]*(?:[-*_][ \t]*){3,}$/;
const TABLE_SEPARATOR = /^[ \t]*\|?[ \t]*:?-{2,}:?[ \t]*(?:\|[ \t]*:?-{2,}:?[ \t]*)*\|?[ \t]*$/;
const TRAILING_EMPHASIS = /[*_~]+$/;
const ENDS_WITH_PUNCTUATION = /[.!?;:,]["')\]]*$/;
/** Pictographs plus the pieces emoji sequences are built from: variation selectors, ZWJ, skin tones,
 * keycap, regional-indicator flags and tag characters. */
const EMOJI = /[\p{Extended_Pictographic}\u{FE0E}\u{FE0F}\u{200D}\u{20E3}\u{1F3FB}-\u{1F3FF}\u{1F1E6}-\u{1F1FF}\u{E0020}-\u{E007F}]/gu;
/** Markup characters that are never read aloud. */
const LEFTOVER_MARKUP = /[*`#~_[\]{}\\|^]/g;
const HAS_WORD_CHARACTER = /[\p{L}\p{N}]/u;

function cleanOnce(input: string): string {
  let text = dropFencedCode(input.replace(/\r\n?/g, '\n'));
  text = text
    .replace(HTML_COMMENT, ' ')
    .replace(HTML_TAG, ' ')
    .replace(HTML_ENTITY, (entity) => (entity.toLowerCase() === '&amp;' ? ' and ' : ' '))
    .replace(IMAGE, ' ')
    .replace(INLINE_LINK, '$1')
    .replace(REFERENCE_LINK, '$1')
    .replace(URL, ' ')
    .replace(CITATION_MARKER, ' ')
    .replace(INLINE_CODE, '$2');
  text = text.split('\n').map(speakableLine).join('\n');
  text = text
    .replace(EMOJI, ' ')
    .replace(LEFTOVER_MARKUP, ' ')
    .replace(/\s+/g, ' ')
    .replace(/ +([.,!?;:])/g, '$1')
    .trim();
  return HAS_WORD_CHARACTER.test(text) ? text : '';
}

/** Drops fenced code blocks, fences included; an unclosed fence drops everything after it. */
function dropFencedCode(text: string): string {
  const kept: string[] = [];
  let openFence: string | undefined;
  for (const line of text.split('\n')) {
    const fence = FENCE_LINE.exec(line)?.[1];
    if (openFence === undefined) {
      if (fence === undefined) kept.push(line);
      else openFence = fence;
    } else if (fence !== undefined && fence[0] === openFence[0] && fence.length >= openFence.length && line.trim() === fence) {
      openFence = undefined;
    }
  }
  return kept.join('\n');
}

/** Strips line-level markup. Headings, list items and table rows get a period so the voice pauses after them. */
function speakableLine(line: string): string {
  if (HORIZONTAL_RULE.test(line) || TABLE_SEPARATOR.test(line) || REFERENCE_DEFINITION.test(line)) return '';
  let needsPause = false;
  let stripped = line;
  for (;;) {
    const marker = LINE_MARKER.exec(stripped);
    if (marker === null || marker[0] === '') break;
    needsPause ||= HEADING_OR_LIST_MARKER.test(stripped);
    stripped = stripped.slice(marker[0].length);
  }
  if ((stripped.match(/\|/g)?.length ?? 0) >= 2) {
    stripped = stripped
      .replace(/^\s*\||\|\s*$/g, '')
      .split('|')
      .map((cell) => cell.trim())
      .filter((cell) => cell !== '')
      .join(', ');
    needsPause = true;
  }
  stripped = stripped.trim();
  const needsPeriod = needsPause && stripped !== '' && !ENDS_WITH_PUNCTUATION.test(stripped.replace(TRAILING_EMPHASIS, ''));
  return needsPeriod ? `${stripped}.` : stripped;
}
