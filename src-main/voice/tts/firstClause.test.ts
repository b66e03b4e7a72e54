import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamingSentenceSplitter } from '../../../src-shared/speech/sentenceSplitter.js';
import { toSpeakableText } from '../../../src-shared/speech/speakableText.js';
import { afterClause, firstClause, restAfterClause } from './firstClause.js';

const LONG = 'The weather today is sunny with a light breeze from the west, and tomorrow it will rain for most of the afternoon.';
const words = (text: string) => text.match(/[\p{L}\p{N}]+/gu) ?? [];
/** The sentences the agent's splitter makes of an answer, streamed in `tokens`. */
const sentencesOf = (tokens: readonly string[]) => {
  const splitter = new StreamingSentenceSplitter();
  return [...tokens.flatMap((token) => splitter.push(token)), ...splitter.flush()];
};
/** A first sentence of more than 250 characters with no comma before its 250th: the splitter cuts it at a space. */
const RUN_ON =
  'The old stone bridge that crosses the river just below the town was built by the monks of the abbey in the twelfth century ' +
  'and it has survived every flood since then although the central arch had to be rebuilt after the great storm of the year ' +
  'seventeen hundred and three, and it is still used by cars today.';
/** Answers whose first sentence, as the agent's splitter makes it, ends where firstClause's own rule sees no end. */
const SPLITTER_ENDS_EARLIER = [
  'You can check https://weather.example.com/forecast?city=paris for the forecast, which is updated every hour.',
  'Hello!World is what the first program in most tutorials prints, and it is a tradition.',
  'Really?Yes, the museum on the main square is open every day of the week, even on holidays.',
  '我可以帮你。Yes I can help you with the forecast for Paris, and for the rest of France too.',
  '好的！The weather today is sunny with a light breeze from the west, and tomorrow it will rain.',
  RUN_ON,
];

describe('firstClause', () => {
  it('gives the first clause of a long sentence once the text after its comma has begun', () => {
    expect(firstClause('The weather today is sunny with a light breeze from the west')).toBeUndefined();
    // The comma alone does not end the clause yet: "1," may be the start of "1,000".
    expect(firstClause('The weather today is sunny with a light breeze from the west,')).toBeUndefined();
    expect(firstClause('The weather today is sunny with a light breeze from the west, ')).toBe(
      'The weather today is sunny with a light breeze from the west,',
    );
    expect(firstClause('The weather today is sunny with a light breeze from the west, and tomorrow')).toBe(
      'The weather today is sunny with a light breeze from the west,',
    );
  });

  it('never splits inside a number or a time', () => {
    expect(firstClause('The population of the city grew to 1,000')).toBeUndefined();
    expect(firstClause('The population of the city grew to 1,000,000 by the year')).toBeUndefined();
    expect(firstClause('The population of the old city grew to 1,000,000 people, and')).toBe('The population of the old city grew to 1,000,000 people,');
    expect(firstClause('The next train into the city leaves at 10:30 from platform four')).toBeUndefined();
  });

  it('leaves a short clause alone and takes the first boundary after the minimum length', () => {
    expect(firstClause('Yes, it is')).toBeUndefined();
    // Four words but too short to be worth a pause.
    expect(firstClause('It is a cat, not a')).toBeUndefined();
    expect(firstClause('Well, in 1990, the city of Paris, which')).toBe('Well, in 1990, the city of Paris,');
    // Long enough in characters but one word: not a clause worth a pause.
    expect(firstClause('Supercalifragilisticexpialidocious, said the nanny')).toBeUndefined();
  });

  it('splits a complete sentence only when enough of it follows the clause', () => {
    expect(firstClause('The weather today is sunny and quite warm, but cold.')).toBeUndefined();
    expect(firstClause('The weather today is sunny and quite warm, but cold. Tomorrow it will rain, and')).toBeUndefined();
    expect(firstClause('The weather today is sunny and quite warm, but\nTomorrow it will rain all day long')).toBeUndefined();
    expect(firstClause(`${LONG} It will be dry again on Friday, with a cold wind.`)).toBe(
      'The weather today is sunny with a light breeze from the west,',
    );
    // The rest is not known while the sentence is being written: the clause is spoken anyway.
    expect(firstClause('The weather today is sunny and quite warm, but')).toBe('The weather today is sunny and quite warm,');
  });

  it('looks for a clause in the first sentence only', () => {
    expect(firstClause('Sure! The weather today is sunny and quite warm, and it will stay so')).toBeUndefined();
    expect(firstClause('Sure.\nThe weather today is sunny and quite warm, and it will stay so')).toBeUndefined();
  });

  it('splits at semicolons, colons and every kind of dash, but not at a hyphen or a range', () => {
    expect(firstClause('The capital of France is Paris; the capital of Spain')).toBe('The capital of France is Paris;');
    expect(firstClause('Here is what you need to know: the shop opens')).toBe('Here is what you need to know:');
    for (const dash of ['—', '–', '-', '--']) {
      expect(firstClause(`The capital of France is Paris ${dash} a city of`), dash).toBe(`The capital of France is Paris ${dash}`);
    }
    expect(firstClause('The capital of France is Paris—a city of')).toBe('The capital of France is Paris—');
    expect(firstClause('The well-known capital of France-Italy region is')).toBeUndefined();
    expect(firstClause('The museum is open from 10–18 every day of the week')).toBeUndefined();
  });

  it('gives nothing for a sentence with no clause boundary', () => {
    expect(firstClause('The weather today is sunny with a light breeze from the west and no rain')).toBeUndefined();
    expect(firstClause('')).toBeUndefined();
  });

  it('does not end a clause inside a link, a citation, inline code or a tag', () => {
    expect(firstClause('See [Paris, France](https://example.com/paris) for the capital of France, and')).toBe(
      'See [Paris, France](https://example.com/paris) for the capital of France,',
    );
    expect(firstClause('As the report on the city says [1, 2], the number')).toBe('As the report on the city says [1, 2],');
    expect(firstClause('Call the function `join(a, b)` with both of the lists')).toBeUndefined();
    expect(firstClause('The capital city of France <a title="Paris, France">is')).toBeUndefined();
  });

  it("never ends past where the agent's splitter may end the first sentence", () => {
    expect(sentencesOf([RUN_ON])[0]!.length).toBeLessThan(RUN_ON.indexOf(','));
    for (const answer of SPLITTER_ENDS_EARLIER) {
      expect(firstClause(answer), answer).toBeUndefined();
      // Nor while it is being written, whatever has come of it so far.
      for (let cut = 0; cut <= answer.length; cut++) expect(firstClause(answer.slice(0, cut)), answer.slice(0, cut)).toBeUndefined();
    }
  });

  it("ends within the splitter's first sentence, whatever the answer and however far it has come", () => {
    const piece = fc.constantFrom(
      'The weather today is sunny',
      'with a light breeze from the west',
      ', ',
      ',',
      '; ',
      ' — ',
      '—',
      ' ',
      '?',
      '? ',
      '!',
      '. ',
      '.',
      '。',
      '！',
      'e.g. ',
      'Dr. ',
      'etc. ',
      '1,000',
      'https://example.com/a?b=c',
      '\n',
      '"',
      ')',
      'and tomorrow it will rain for most of the afternoon',
      'Yes',
      'X',
      'it',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), fc.double({ min: 0, max: 1, noNaN: true }), (pieces, at) => {
        const answer = pieces.join('');
        const clause = firstClause(answer.slice(0, Math.round(at * answer.length)));
        if (clause === undefined) return;
        const sentences = sentencesOf(pieces);
        expect(sentences[0]?.startsWith(clause), `${JSON.stringify(answer)}: ${JSON.stringify(clause)} / ${JSON.stringify(sentences[0])}`).toBe(true);
        // Spoken as SpeakingTurn does: the clause, then what of each sentence was not in it.
        let ahead: string | undefined = toSpeakableText(clause);
        const spoken = [ahead];
        for (const sentence of sentences.map(toSpeakableText)) {
          const { rest, unaccounted }: { rest: string; unaccounted?: string } = ahead === undefined ? { rest: sentence } : afterClause(ahead, sentence);
          ahead = unaccounted;
          spoken.push(rest);
        }
        expect(words(spoken.join(' '))).toEqual(words(sentences.map(toSpeakableText).join(' ')));
      }),
      { numRuns: 3000 },
    );
  });

  it('counts only what is spoken towards the minimum length', () => {
    expect(firstClause('**Paris**, the capital, is')).toBeUndefined();
    expect(firstClause('**Paris**, the capital of France, is')).toBe('**Paris**, the capital of France,');
    expect(toSpeakableText('**Paris**, the capital of France,')).toBe('Paris, the capital of France,');
  });
});

describe('restAfterClause', () => {
  it('is the sentence after the clause and its punctuation', () => {
    expect(restAfterClause('The weather today is sunny with a light breeze from the west,', LONG)).toBe(
      'and tomorrow it will rain for most of the afternoon.',
    );
    expect(restAfterClause('The capital of France is Paris —', 'The capital of France is Paris — a city of lights.')).toBe('a city of lights.');
    expect(restAfterClause('The capital of France is Paris—', 'The capital of France is Paris—a city of lights.')).toBe('a city of lights.');
  });

  it('is empty when the clause was the whole sentence', () => {
    expect(restAfterClause('Here is what you need to know:', 'Here is what you need to know:')).toBe('');
  });

  it('is the whole sentence when it is not the one the clause came from', () => {
    expect(restAfterClause('The weather today is sunny with a light breeze,', 'It will rain tomorrow.')).toBe('It will rain tomorrow.');
  });

  it('says nothing twice when the sentence ended inside the clause: the rest of the clause is found in the next one', () => {
    const clause = 'The weather today is sunny with a light breeze,';
    expect(afterClause(clause, 'The weather today is sunny.')).toEqual({ rest: '', unaccounted: 'with a light breeze,' });
    expect(afterClause('with a light breeze,', 'With a light breeze, it will be warm.')).toEqual({ rest: 'it will be warm.' });
    expect(afterClause('Hello!World is what the first program prints,', 'Hello!')).toEqual({ rest: '', unaccounted: 'World is what the first program prints,' });
    // A sentence with no word in it accounts for none of the clause.
    expect(afterClause(clause, '—')).toEqual({ rest: '', unaccounted: clause });
  });

  it('drops rather than repeats when the sentence differs from the clause inside it', () => {
    // A word of the clause changed (the check replaced it): the clause's end is found again after it.
    expect(afterClause('Call John Smith at the front desk,', 'Call NAME at the front desk, at any time.')).toEqual({ rest: 'at any time.' });
    expect(afterClause('The weather today is sunny with a light breeze,', 'The weather today is sunny and warm, with a light breeze, and no rain.')).toEqual({
      rest: 'and no rain.',
    });
    // Where the clause ends in it cannot be found: as many words as the clause had are skipped, none said again.
    const { rest } = afterClause('The weather today is sunny with a light breeze,', 'The weather is cold and wet with strong winds from the north, all day long.');
    expect(rest).toBe('from the north, all day long.');
    // Its first word replaced: found by the clause's last words.
    expect(afterClause('John Smith can be reached at the front desk,', 'NAME can be reached at the front desk, at any time.')).toEqual({ rest: 'at any time.' });
    // Another sentence that has a word of the clause's end in it is said whole.
    expect(afterClause('The weather today is sunny with a light breeze,', 'A breeze is a gentle wind, and it cools.')).toEqual({
      rest: 'A breeze is a gentle wind, and it cools.',
    });
  });

  it('loses and repeats no word, however the sentence is cut into tokens', () => {
    const sentences = [
      LONG,
      'Well, in 1990, the city of Paris, which had 2,000,000 people, grew again.',
      '**Paris**, the capital of France — and its largest city — sits on the Seine.',
      'See [the guide, part one](https://example.com/a,b) for the details; it covers everything you need.',
      'The report says [1, 2], the number of visitors rose: it doubled.',
    ];
    for (const sentence of sentences) {
      expect([...sentence].some((_, cut) => firstClause(sentence.slice(0, cut)) !== undefined), sentence).toBe(true);
    }
    fc.assert(
      fc.property(fc.constantFrom(...sentences), fc.integer({ min: 0, max: 200 }), (sentence, cut) => {
        const clause = firstClause(sentence.slice(0, cut));
        if (clause === undefined) return;
        const spokenClause = toSpeakableText(clause);
        const whole = toSpeakableText(sentence);
        const rest = restAfterClause(spokenClause, whole);
        expect([...words(spokenClause), ...words(rest)]).toEqual(words(whole));
        expect(`${spokenClause} ${rest}`.trim()).toBe(whole);
      }),
    );
  });
});
