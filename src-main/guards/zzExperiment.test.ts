import { readFileSync, writeFileSync } from 'node:fs';
import { it } from 'vitest';
import { UseLiteEmbedder } from '../documents/useLiteEmbedder.node.js';

it('embeds a file of texts', async () => {
  const e = new UseLiteEmbedder();
  const texts = JSON.parse(readFileSync(process.env.IN!, 'utf8')) as string[];
  const v = await e.embed(texts);
  writeFileSync(process.env.OUT!, JSON.stringify(v.map((x) => Array.from(x))));
  await e.close();
}, 300000);
