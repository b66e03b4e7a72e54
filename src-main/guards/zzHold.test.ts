import { it } from 'vitest';
import { UseLiteEmbedder } from '../documents/useLiteEmbedder.node.js';
import { injectionHoldoutAttacks, injectionHoldoutBenign } from './evaluation/injectionHoldout.js';
import { InjectionGuard } from './injectionGuard.js';

it('holdout', async () => {
  const embedder = new UseLiteEmbedder();
  const guard = new InjectionGuard({ embedder });
  await guard.warmUp();
  const texts = [...injectionHoldoutAttacks, ...injectionHoldoutBenign];
  const vectors = await embedder.embed(texts);
  const signal = new AbortController().signal;
  let det = 0, fp = 0;
  for (const [i, t] of texts.entries()) {
    const attack = i < injectionHoldoutAttacks.length;
    const v = await guard.check(t, { subject: 'question', questionEmbedding: vectors[i] }, signal);
    const a = await guard.assess(t, { subject: 'question', questionEmbedding: vectors[i] }, signal);
    const flagged = v.outcome === 'flag';
    if (attack && flagged) det++;
    if (!attack && flagged) fp++;
    if (attack !== flagged) console.log(`${attack ? 'MISS' : 'FP  '} H=${a.heuristics.score.toFixed(2)} S=${a.semantic?.similarity.toFixed(3) ?? '-'} ${t.slice(0, 90)} ${[...new Set(a.heuristics.hits.map((h) => h.patternId))].join(',')}`);
  }
  console.log(`holdout attacks ${det}/${injectionHoldoutAttacks.length}, benign FP ${fp}/${injectionHoldoutBenign.length}`);
  await embedder.close();
}, 300000);
