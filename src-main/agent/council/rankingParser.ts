/**
 * Reads a reviewer's ranking out of free text, as robustly as models write it:
 * - the asked-for format: "FINAL RANKING:" then "1. Response B", "2. Response A"… (numbers may be "1)", "1:", bold…);
 * - a chain: "B > A > C", "Response B > Response A";
 * - prose: "Response C is best, then A, followed by B".
 * Markdown emphasis and case do not matter, except that a bare letter outside a chain must be a capital ("1. A",
 * "then A"), so an article ("1. a cat", "then a dog") is not read as a vote. Only the text after the last
 * "FINAL RANKING" is read when there is one (falling back to the whole text when nothing usable follows it).
 * Unknown letters and repeats are skipped (the first mention counts). Known limit: prose is read in order of mention,
 * so "Response A is worse than Response B" reads as A before B.
 *
 * Returns the labels best first (possibly fewer than were shown: the aggregation treats the rest as tied last), or
 * `undefined` when the text holds no usable ranking (a tiny model's story, an empty answer).
 */
export function parseRanking(text: string, labels: readonly string[]): string[] | undefined {
  const known = new Set(labels.map((label) => label.toUpperCase()));
  // Quoted lines are the answers (or a reviewer quoting them), never the reviewer's own ranking.
  const plain = text
    .split(/\r?\n/)
    .filter((line) => !/^\s*>/.test(line))
    .join('\n')
    .replace(/[*_`#]/g, '');
  const header = [...plain.matchAll(/final\s+ranking/gi)].at(-1);
  const places = header?.index === undefined ? [plain] : [plain.slice(header.index + header[0].length), plain];
  for (const place of places) {
    for (const read of [numberedList, chain, prose]) {
      const ranking = usable(read(place), known);
      if (ranking) return ranking;
    }
  }
  return undefined;
}

function usable(found: readonly string[], known: ReadonlySet<string>): string[] | undefined {
  const ranking: string[] = [];
  for (const letter of found) {
    const label = letter.toUpperCase();
    if (known.has(label) && !ranking.includes(label)) ranking.push(label);
  }
  return ranking.length > 0 ? ranking : undefined;
}

const NUMBERED_LINE = /^\s*(?:[-•]\s*)?(\d{1,2})\s*[.):\]]?\s*(?:(response)\s*([a-z])(?![a-z0-9])|([A-Z])(?=\s*(?:$|[-–—:.,;()])))/i;

/** "1. Response B" lines, in the order of their numbers. */
function numberedList(text: string): string[] {
  const items: { place: number; order: number; letter: string }[] = [];
  text.split(/\r?\n/).forEach((line, order) => {
    const match = NUMBERED_LINE.exec(line);
    if (!match) return;
    const letter = match[3] ?? match[4];
    // The 'i' flag would let a bare lowercase letter through; only "response b" may be lowercase.
    if (letter === undefined || (match[2] === undefined && letter !== letter.toUpperCase())) return;
    items.push({ place: Number(match[1]), order, letter });
  });
  return items.sort((a, b) => a.place - b.place || a.order - b.order).map((item) => item.letter);
}

const LETTER = String.raw`(?:response\s*)?(?<![a-z0-9])[a-z](?![a-z0-9])`;
const CHAIN = new RegExp(String.raw`${LETTER}(?:\s*(?:>|≻|→)\s*${LETTER})+`, 'i');

/** "B > A > C": the first chain of two or more letters. */
function chain(text: string): string[] {
  const found = CHAIN.exec(text);
  if (!found) return [];
  return [...found[0].matchAll(new RegExp(`${LETTER}`, 'gi'))].map((match) => match[0].slice(-1));
}

const PROSE = /response\s+([a-z])(?![a-z0-9])|(?:\bthen|\bfollowed\s+by|\band|\bover|\bbefore|,|;)\s+([a-z])(?![a-z0-9])/gi;

/** "Response C is best, then A": needs at least one "Response X"; after that, capitals following "then", "," … count. */
function prose(text: string): string[] {
  const letters: string[] = [];
  let named = false;
  for (const match of text.matchAll(PROSE)) {
    if (match[1] !== undefined) {
      named = true;
      letters.push(match[1]);
    } else if (match[2] !== undefined && match[2] === match[2].toUpperCase()) {
      letters.push(match[2]);
    }
  }
  return named ? letters : [];
}
