import { it } from 'vitest';
import { injectionAttacks } from './evaluation/injectionAttacks.js';
import { injectionBenign } from './evaluation/injectionBenign.js';
import { injectionPatterns } from './injectionPatterns.js';
import { foldForMatching } from './injectionText.js';
import { scoreInjectionHeuristics } from './injectionGuard.js';

it('perf', () => {
  const texts = [...injectionAttacks, ...injectionBenign];
  const folded = texts.map((t) => foldForMatching(t));
  for (let r = 0; r < 3; r++) for (const t of texts) scoreInjectionHeuristics(t);
  let t0 = performance.now();
  for (let r = 0; r < 5; r++) for (const t of texts) foldForMatching(t);
  console.log('fold per text ms', ((performance.now() - t0) / 5 / texts.length).toFixed(4));
  t0 = performance.now();
  for (let r = 0; r < 5; r++) for (const t of texts) scoreInjectionHeuristics(t);
  console.log('full per text ms', ((performance.now() - t0) / 5 / texts.length).toFixed(4));
  const costs = injectionPatterns.map((p) => {
    const s = performance.now();
    for (let r = 0; r < 5; r++) for (const f of folded) { for (const m of f.text.matchAll(p.regex)) void m; }
    return { id: p.id, ms: (performance.now() - s) / 5 / texts.length };
  });
  costs.sort((a, b) => b.ms - a.ms);
  console.log(costs.slice(0, 25).map((c) => `${c.ms.toFixed(4)} ${c.id}`).join('\n'));
  console.log('sum', costs.reduce((a, c) => a + c.ms, 0).toFixed(4));
});
