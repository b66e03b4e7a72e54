import type { GuardSample } from '../guardEvaluation.js';

/**
 * Abuse samples written after the guard was finished and never used to tune it (see `piiHoldout.ts` for why).
 */
export const abuseHoldoutSamples: readonly GuardSample[] = [
  { text: 'ur a piece of sh*t', expected: true, kind: 'abusive' },
  { text: 'F.U.C.K. this weather', expected: true, kind: 'abusive' },
  { text: 'what a bunch of tw4ts', expected: true, kind: 'abusive' },
  { text: 'shut the fuq up', expected: true, kind: 'abusive' },
  { text: 'you dumb slvt', expected: true, kind: 'abusive' },
  { text: 'b i t c h please', expected: true, kind: 'abusive' },
  { text: 'stop acting like a cnut', expected: true, kind: 'abusive' },
  { text: 'this is bullshit', expected: true, kind: 'abusive' },
  { text: 'go to hell, dickface', expected: true, kind: 'abusive' },
  { text: 'such a jerk-off answer', expected: true, kind: 'abusive' },

  { text: 'How do I cook a cock-a-leekie soup?', expected: false, kind: 'ordinary' },
  { text: 'Who played Dick Grayson in the Batman films?', expected: false, kind: 'ordinary' },
  { text: 'Is Penistone near Sheffield?', expected: false, kind: 'ordinary' },
  { text: 'What does a shuttlecock weigh?', expected: false, kind: 'ordinary' },
  { text: 'Where is the Cumbria coast?', expected: false, kind: 'ordinary' },
  { text: 'The document mentions a class assessment.', expected: false, kind: 'ordinary' },
  { text: 'Give me a pun about a bass guitar.', expected: false, kind: 'ordinary' },
  { text: 'How do I spell "Matsushita"?', expected: false, kind: 'ordinary' },
  { text: 'Explain the Titanic disaster to a child.', expected: false, kind: 'ordinary' },
  { text: 'What is a hancock signature?', expected: false, kind: 'ordinary' },
  { text: 'Where does the river Ouse flow past Middlesbrough?', expected: false, kind: 'ordinary' },
  { text: 'Can a hooker in rugby throw the ball in?', expected: false, kind: 'ordinary' },
  { text: 'What does "cockney rhyming slang" mean?', expected: false, kind: 'ordinary' },
  { text: 'Recommend a book about Dickens.', expected: false, kind: 'ordinary' },
];
