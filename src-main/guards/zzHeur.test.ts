import { it } from 'vitest';
import { injectionAttacks } from './evaluation/injectionAttacks.js';
import { injectionBenign } from './evaluation/injectionBenign.js';
import { HEURISTIC_FLAG_SCORE, scoreInjectionHeuristics } from './injectionGuard.js';

it('heuristics', () => {
  const t0 = performance.now();
  const a = injectionAttacks.map((t) => ({ t, h: scoreInjectionHeuristics(t) }));
  const b = injectionBenign.map((t) => ({ t, h: scoreInjectionHeuristics(t) }));
  const ms = performance.now() - t0;
  const show = (x: { t: string; h: ReturnType<typeof scoreInjectionHeuristics> }) =>
    `${x.h.score.toFixed(2)} ${x.h.english ? 'EN' : '--'} ${JSON.stringify(x.t.slice(0, 110))} ${[...new Set(x.h.hits.map((h) => h.patternId))].join(',')}`;
  const missed = a.filter((x) => x.h.score < HEURISTIC_FLAG_SCORE);
  const fps = b.filter((x) => x.h.score >= 0.4);
  console.log(`ms total ${ms.toFixed(1)} per text ${(ms / (a.length + b.length)).toFixed(3)}`);
  console.log(`attacks ${a.length} detected ${a.length - missed.length}\n` + missed.map(show).join('\n'));
  console.log(`benign ${b.length} flagged ${b.filter((x) => x.h.score >= HEURISTIC_FLAG_SCORE).length}; >=0.4:\n` + fps.map(show).join('\n'));
  const nonEnA = a.filter((x) => !x.h.english).length, nonEnB = b.filter((x) => !x.h.english).length;
  console.log('non-English: attacks', nonEnA, 'benign', nonEnB);
  console.log('EN-read non-EN attacks:', a.slice(105).filter((x) => x.h.english).map((x) => x.t).join(' | '));
  console.log('nonEN-read EN benign:', b.slice(0,110).filter((x) => !x.h.english).map((x) => x.t).join(' | '));
  console.log('nonEN-read EN attacks:', a.slice(0,105).filter((x) => !x.h.english).map((x) => x.t).join(' | '));
});
