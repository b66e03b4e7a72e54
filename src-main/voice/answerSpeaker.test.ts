import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../src-shared/contract/index.js';
import { toSpeakableText } from '../../src-shared/speech/speakableText.js';
import { StreamingSentenceSplitter } from '../../src-shared/speech/sentenceSplitter.js';
import { AnswerStream, passThroughOutputCheck, type OutputCheck } from '../agent/turn/answerStream.js';
import { redactPii, releasableBeforePii } from '../guards/piiGuard.js';
import { SpeakingTurn } from './answerSpeaker.node.js';
import { FliteSpeechSynthesizer } from './tts/fliteSpeechSynthesizer.node.js';

const synthesizer = new FliteSpeechSynthesizer();
beforeAll(() => synthesizer.warmUp());
afterAll(() => synthesizer.dispose());

const LONG = 'The weather today is sunny with a light breeze from the west, and tomorrow it will rain for most of the afternoon.';
const CLAUSE = 'The weather today is sunny with a light breeze from the west,';
const SYSTEM_VOICE = { voice: 'system:Samantha', rate: 1 };
const FLITE_VOICE = { voice: 'flite:slt', rate: 1 };

/** A text as an LLM streams it: a word at a time, each with the space before the next. */
const tokensOf = (text: string) => text.split(/(?<=\s)/u);
const words = (text: string) => text.match(/[\p{L}\p{N}]+/gu) ?? [];
const spokenTexts = (events: readonly AgentEvent[]) =>
  events.flatMap((event) => (event.type === 'speech-sentence' ? [event.text] : []));
const audioMs = (event: Extract<AgentEvent, { type: 'speech-audio' }>) => (Buffer.from(event.pcmBase64, 'base64').byteLength / 2 / event.sampleRate) * 1000;

/** A speaking turn with its events, and the first audio as a promise. */
function speakingTurn(voice = FLITE_VOICE) {
  const events: AgentEvent[] = [];
  let resolveFirstAudio!: (event: Extract<AgentEvent, { type: 'speech-audio' }>) => void;
  const firstAudio = new Promise<Extract<AgentEvent, { type: 'speech-audio' }>>((resolve) => (resolveFirstAudio = resolve));
  const speaking = new SpeakingTurn('turn-1', synthesizer, voice, (event) => {
    events.push(event);
    if (event.type === 'speech-audio') resolveFirstAudio(event);
  });
  return { speaking, events, firstAudio };
}

describe('SpeakingTurn: the first clause of a long first sentence is spoken early', () => {
  it('speaks the first clause while the sentence is still being written, then only the rest of it', async () => {
    const { speaking, events, firstAudio } = speakingTurn();
    const tokens = tokensOf(LONG);
    const clauseTokens = tokensOf(`${CLAUSE} `).length;
    tokens.slice(0, clauseTokens).forEach((token) => speaking.shownText(token));
    // The clause went to the voice as soon as its comma was followed by the next word's space.
    expect(spokenTexts(events)).toEqual([CLAUSE]);
    const first = await firstAudio;
    expect(first.seq).toBe(0);

    tokens.slice(clauseTokens).forEach((token) => speaking.shownText(token));
    speaking.sentence(0, LONG);
    speaking.sentence(1, 'See you tomorrow.');
    await speaking.end();

    const spoken = spokenTexts(events);
    expect(spoken).toEqual([CLAUSE, 'and tomorrow it will rain for most of the afternoon.', 'See you tomorrow.']);
    // No word lost or said twice.
    expect(words(spoken.slice(0, 2).join(' '))).toEqual(words(LONG));
    const audio = events.filter((event) => event.type === 'speech-audio');
    expect(audio.map((event) => event.seq)).toEqual([0, 1, 2]);
    // The first audio is the clause's: shorter than the whole sentence said alone.
    const whole = await synthesizer.synthesize(LONG, { voice: 'slt' });
    const wholeMs = (whole.samples.length / whole.sampleRate) * 1000;
    expect(audioMs(first)).toBeLessThan(wholeMs * 0.75);
    expect(audioMs(first) + audioMs(audio[1]!)).toBeGreaterThan(wholeMs * 0.8);
  });

  it('speaks a short first sentence, or one with no clause boundary, whole', async () => {
    for (const sentence of ['Yes, it will rain.', 'It is a cat, not a dog.', 'The weather today is sunny with a light breeze from the west and no rain at all.']) {
      const { speaking, events } = speakingTurn();
      tokensOf(sentence).forEach((token) => speaking.shownText(token));
      expect(spokenTexts(events)).toEqual([]);
      speaking.sentence(0, sentence);
      await speaking.end();
      expect(spokenTexts(events)).toEqual([sentence]);
      expect(events.filter((event) => event.type === 'speech-audio')).toHaveLength(1);
    }
  });

  it('never reads markdown: the clause and the rest are cleaned like the whole sentence', async () => {
    const { speaking, events } = speakingTurn(SYSTEM_VOICE);
    const sentence = '**Paris**, the capital of France — and its largest city — sits on the [Seine](https://example.com/seine) [1].';
    tokensOf(sentence).forEach((token) => speaking.shownText(token));
    speaking.sentence(0, sentence);
    await speaking.end();
    const spoken = spokenTexts(events);
    expect(spoken).toEqual(['Paris, the capital of France —', 'and its largest city — sits on the Seine.']);
    expect(spoken.join(' ')).toBe(toSpeakableText(sentence));
  });

  it('speaks a cached answer (one token, every sentence at once) in the same pieces as a streamed one', async () => {
    const later = 'It will be dry again on Friday, with a cold wind from the north, so take a coat.';
    const answer = `${LONG} ${later}`;
    const streamed = speakingTurn(SYSTEM_VOICE);
    tokensOf(answer).forEach((token, i, all) => {
      streamed.speaking.shownText(token);
      if (i === tokensOf(`${LONG} `).length - 1) streamed.speaking.sentence(0, LONG);
      if (i === all.length - 1) streamed.speaking.sentence(1, later);
    });
    await streamed.speaking.end();
    const cached = speakingTurn(SYSTEM_VOICE);
    cached.speaking.shownText(answer);
    cached.speaking.sentence(0, LONG);
    cached.speaking.sentence(1, later);
    await cached.speaking.end();
    expect(spokenTexts(cached.events)).toEqual([CLAUSE, 'and tomorrow it will rain for most of the afternoon.', later]);
    expect(spokenTexts(streamed.events)).toEqual(spokenTexts(cached.events));
  });

  it('splits only the first sentence', async () => {
    const { speaking, events } = speakingTurn(SYSTEM_VOICE);
    speaking.shownText(`Sure. ${LONG}`);
    speaking.sentence(0, 'Sure.');
    speaking.sentence(1, LONG);
    await speaking.end();
    expect(spokenTexts(events)).toEqual(['Sure.', LONG]);
  });

  it('speaks the next sentence whole when the one whose clause was spoken is withheld', async () => {
    const { speaking, events } = speakingTurn(SYSTEM_VOICE);
    tokensOf(`${CLAUSE} and`).forEach((token) => speaking.shownText(token));
    speaking.withheld();
    // The withheld sentence takes no index: the next one is sentence 0, said whole even where it starts the same.
    const next = `${CLAUSE} the forecast says.`;
    speaking.sentence(0, next);
    await speaking.end();
    expect(spokenTexts(events)).toEqual([CLAUSE, next]);
  });

  it('splits nothing after the first sentence has come, even a run-on one cut before its end', async () => {
    const { speaking, events } = speakingTurn(SYSTEM_VOICE);
    // The agent's splitter cuts a run-on sentence that has grown too long; its next part comes as sentence 1.
    const first = 'The weather today is sunny with a light breeze from the west and';
    const second = 'tomorrow it will rain for most of the afternoon, then it clears up.';
    tokensOf(`${first} `).forEach((token) => speaking.shownText(token));
    speaking.sentence(0, first);
    tokensOf(second).forEach((token) => speaking.shownText(token));
    speaking.sentence(1, second);
    await speaking.end();
    expect(spokenTexts(events)).toEqual([first, second]);
  });

  describe("an answer whose first sentence the agent's splitter ends before firstClause's own rule would", () => {
    const answers = [
      'You can check https://weather.example.com/forecast?city=paris for the forecast, which is updated every hour.',
      'Hello!World is what the first program in most tutorials prints, and it is a tradition.',
      '我可以帮你。Yes I can help you with the forecast for Paris, and for the rest of France too.',
      'The old stone bridge that crosses the river just below the town was built by the monks of the abbey in the twelfth century ' +
        'and it has survived every flood since then although the central arch had to be rebuilt after the great storm of the year ' +
        'seventeen hundred and three, and it is still used by cars today.',
    ];
    const sentencesOf = (answer: string) => {
      const splitter = new StreamingSentenceSplitter();
      return [...splitter.push(answer), ...splitter.flush()];
    };
    /** Every word of the sentences, once each and in order. */
    const expectedWords = (answer: string) => words(sentencesOf(answer).map(toSpeakableText).join(' '));

    it('is spoken once, word for word, when it is cached (shown whole before its sentences)', async () => {
      for (const answer of answers) {
        const { speaking, events } = speakingTurn(SYSTEM_VOICE);
        speaking.shownText(answer);
        sentencesOf(answer).forEach((sentence, index) => speaking.sentence(index, sentence));
        await speaking.end();
        expect(words(spokenTexts(events).join(' ')), answer).toEqual(expectedWords(answer));
      }
    });

    it('is spoken once, word for word, when it is streamed through the answer stream', async () => {
      for (const answer of answers) {
        const { speaking, events } = speakingTurn(SYSTEM_VOICE);
        const stream = new AnswerStream(passThroughOutputCheck);
        stream.subscribe({ token: (text) => speaking.shownText(text), sentence: (index, text) => speaking.sentence(index, text) });
        tokensOf(answer).forEach((token) => stream.push(token));
        await stream.end();
        await speaking.end();
        expect(words(spokenTexts(events).join(' ')), answer).toEqual(expectedWords(answer));
      }
    });

    it('is synthesized once, a piece at a time, by flite', async () => {
      const answer = answers[1]!;
      const { speaking, events } = speakingTurn();
      speaking.shownText(answer);
      sentencesOf(answer).forEach((sentence, index) => speaking.sentence(index, sentence));
      await speaking.end();
      expect(spokenTexts(events)).toEqual(['Hello!', 'World is what the first program in most tutorials prints, and it is a tradition.']);
      expect(events.filter((event) => event.type === 'speech-audio').map((event) => event.seq)).toEqual([0, 1]);
    });
  });

  it('does not say again what of the clause ran past the end of sentence 0: it is found at the start of the next one', async () => {
    const { speaking, events } = speakingTurn(SYSTEM_VOICE);
    speaking.shownText(`${CLAUSE} and`);
    expect(spokenTexts(events)).toEqual([CLAUSE]);
    speaking.sentence(0, 'The weather today is sunny.');
    speaking.sentence(1, 'With a light breeze from the west, and tomorrow it will rain.');
    speaking.sentence(2, 'See you tomorrow.');
    await speaking.end();
    expect(spokenTexts(events)).toEqual([CLAUSE, 'and tomorrow it will rain.', 'See you tomorrow.']);
  });

  it('speaks nothing more once cancelled', async () => {
    const { speaking, events } = speakingTurn(SYSTEM_VOICE);
    speaking.cancel();
    tokensOf(LONG).forEach((token) => speaking.shownText(token));
    speaking.sentence(0, LONG);
    await speaking.end();
    expect(events).toEqual([]);
  });
});

describe('SpeakingTurn behind the output checks: only released text is spoken', () => {
  /** The guardrails' way: tokens only as released or checked; personal data masked. */
  const piiCheck: OutputCheck = {
    tokens: 'checked-sentences',
    releasable: releasableBeforePii,
    checkSentence: (sentence) => {
      const masked = redactPii(sentence).text;
      return masked === sentence ? { action: 'pass' } : { action: 'replace', text: masked };
    },
  };

  /** The answer streamed a word at a time through the agent's answer stream into a speaking turn. */
  async function speakThroughStream(answer: string, check: OutputCheck, afterEachToken?: (events: AgentEvent[]) => void) {
    const { speaking, events } = speakingTurn(SYSTEM_VOICE);
    const stream = new AnswerStream(check);
    stream.subscribe({
      token: (text) => speaking.shownText(text),
      sentence: (index, text) => speaking.sentence(index, text),
      withheld: () => speaking.withheld(),
    });
    for (const token of tokensOf(answer)) {
      stream.push(token);
      afterEachToken?.(events);
    }
    await stream.end();
    await speaking.end();
    return events;
  }

  it('speaks the clause early when the check released it, and the checked rest after', async () => {
    const answer = 'You can reach the front desk of the hotel, at 020 7946 0958, any time of the day.';
    let spokenBeforeCheck: string[] | undefined;
    const events = await speakThroughStream(answer, piiCheck, (events) => (spokenBeforeCheck ??= spokenTexts(events).length > 0 ? spokenTexts(events) : undefined));
    expect(spokenBeforeCheck).toEqual(['You can reach the front desk of the hotel,']);
    const spoken = spokenTexts(events);
    expect(spoken[0]).toBe('You can reach the front desk of the hotel,');
    expect(spoken.join(' ')).not.toMatch(/\d/);
    expect(spoken.join(' ')).toContain('PHONE');
  });

  it('speaks nothing of a sentence before its check when the check releases none of it', async () => {
    const answer = 'Call 020 7946 0958 for the front desk of the hotel, at any time of the day.';
    const heldCheck: OutputCheck = { ...piiCheck, releasable: () => 0 };
    for (const check of [piiCheck, heldCheck]) {
      const events = await speakThroughStream(answer, check, (events) => expect(spokenTexts(events)).toEqual([]));
      // Checked, it is split like any other: the masked sentence, in two pieces.
      expect(spokenTexts(events).join(' ')).toBe('Call PHONE for the front desk of the hotel, at any time of the day.');
    }
  });
});
