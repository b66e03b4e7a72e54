import { it } from 'vitest';
import { UseLiteEmbedder } from '../documents/useLiteEmbedder.node.js';
import { injectionAttacks } from './evaluation/injectionAttacks.js';
import { injectionBenign } from './evaluation/injectionBenign.js';
import { InjectionGuard } from './injectionGuard.js';

it('calibrates', async () => {
  const embedder = new UseLiteEmbedder();
  const guard = new InjectionGuard({ embedder });
  await guard.warmUp();
  const texts = [...injectionAttacks, ...injectionBenign];
  const vectors = await embedder.embed(texts);
  const signal = new AbortController().signal;
  const rows = await Promise.all(texts.map(async (t, i) => ({ t, attack: i < injectionAttacks.length, a: await guard.assess(t, { subject: 'question', questionEmbedding: vectors[i] }, signal) })));
  const line = (r: (typeof rows)[number]) => `${r.a.heuristics.score.toFixed(2)} ${r.a.semantic?.similarity.toFixed(3) ?? '  -  '} ${r.a.semantic?.category ?? ''} ${JSON.stringify(r.t.slice(0, 100))}`;
  const en = rows.filter((r) => r.a.semantic);
  console.log('benign english by similarity:\n' + en.filter((r) => !r.attack).sort((x, y) => y.a.semantic!.similarity - x.a.semantic!.similarity).slice(0, 15).map(line).join('\n'));
  console.log('benign with H>=0.4:\n' + rows.filter((r) => !r.attack && r.a.heuristics.score >= 0.4).map(line).join('\n'));
  console.log('attacks with H<0.75:\n' + rows.filter((r) => r.attack && r.a.heuristics.score < 0.75).map(line).join('\n'));
  const sims = en.filter((r) => r.attack).map((r) => r.a.semantic!.similarity).sort();
  console.log('attack sims', sims.map((x) => x.toFixed(2)).join(' '));
  await embedder.close();
}, 300000);
