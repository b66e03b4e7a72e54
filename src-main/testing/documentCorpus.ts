import fs from 'node:fs';
import path from 'node:path';

/**
 * A small corpus the document tests write to a temp folder, with near-duplicates on purpose: two breads, two house
 * plants, two kinds of tyre advice. A search for one must not be answered by its twin.
 */
export const CORPUS: Record<string, string> = {
  'sourdough.md': `# Sourdough bread

## The starter
A sourdough starter is a live culture of wild yeast and lactic acid bacteria. Feed it equal weights of flour and water
every day, and use it when it has doubled and smells pleasantly sour.

## Mixing and bulk fermentation
Mix 500 g of bread flour with 350 g of water and 100 g of active starter, then add 10 g of salt. Stretch and fold the
dough every half hour for two hours. Let it rise slowly, ideally overnight in the fridge; the long cold proof gives the
crumb its open holes and the tangy flavour.

## Baking
Bake the loaf in a preheated Dutch oven at 250 °C with the lid on for 20 minutes, then take the lid off and bake for
another 25 minutes until the crust is deep brown.
`,
  'banana-bread.md': `# Banana bread

Banana bread is a quick bread: it rises with baking soda, not yeast, so there is no kneading and no waiting.

## Ingredients
Three very ripe bananas, mashed; 75 g of melted butter; 150 g of sugar; one egg; a teaspoon of baking soda; a pinch of
salt and 190 g of plain flour. Overripe bananas with black spots make the sweetest loaf.

## Method
Stir everything together until just combined, pour it into a buttered loaf tin and bake at 175 °C for about an hour,
until a skewer comes out clean. Let it cool before slicing.
`,
  'snake-plant.txt': `Caring for a snake plant (Sansevieria)

The snake plant has tall, stiff, upright leaves with yellow edges. It tolerates low light and neglect, which makes it a
good plant for beginners and for dark corners of a flat.

Water it only every two to three weeks, and even less in winter. Overwatering is the most common way to kill it: the
roots rot and the base of the leaves turns soft and mushy. Use a free-draining cactus soil and a pot with a hole.
`,
  'fiddle-leaf-fig.txt': `Caring for a fiddle leaf fig (Ficus lyrata)

The fiddle leaf fig is an indoor tree with large, violin-shaped leaves. It wants bright, indirect light near a window
and a steady spot: it often drops its leaves after being moved or when there is a cold draught.

Water it when the top few centimetres of soil are dry, and wipe the dust off its broad leaves so they can take in light.
Brown spots on the leaves usually mean the roots stayed too wet.
`,
  'winter-tyres.html': `<!doctype html><html><head><title>Winter tyres</title><style>body { color: red }</style>
<script>var tracking = "never index this script text";</script></head><body>
<h1>Winter tyres</h1>
<p>Winter tyres use a softer rubber compound that stays flexible below 7 °C, where summer tyres harden and lose grip.</p>
<p>Their deep tread with many small sipes bites into snow and slush. Look for the mountain-and-snowflake symbol on the
sidewall. Fit them in October and switch back to summer tyres around Easter.</p>
</body></html>
`,
  'flat-tyre.html': `<!doctype html><html><head><title>Changing a flat tyre</title></head><body>
<h1>Changing a flat tyre</h1>
<p>Stop somewhere safe and level, turn on the hazard lights and put the warning triangle behind the car.</p>
<p>Loosen the wheel nuts a little while the wheel is still on the ground, then raise the car with the jack at the marked
jacking point. Take off the nuts and the punctured wheel, mount the spare wheel and tighten the nuts in a star pattern.
Lower the car and tighten them fully.</p>
</body></html>
`,
};

/** Paraphrased questions and the file that should answer each (none of them repeats the document's wording). */
export const PARAPHRASED_QUERIES: Array<{ query: string; expected: string }> = [
  { query: 'how long should the dough prove with a wild yeast culture before baking', expected: 'sourdough.md' },
  { query: 'what can I bake with old bananas that have gone black', expected: 'banana-bread.md' },
  { query: 'my sansevieria is going soft at the bottom, am I watering it too much', expected: 'snake-plant.txt' },
  { query: 'why does my ficus lose leaves after I moved it to another room', expected: 'fiddle-leaf-fig.txt' },
  { query: 'which tyres grip best on snow and ice in cold weather', expected: 'winter-tyres.html' },
  { query: 'how do I put the spare wheel on after a puncture', expected: 'flat-tyre.html' },
];

/** Questions no document of the corpus is about. */
export const UNRELATED_QUERIES = ['What is the capital of Mongolia?', 'Who painted the Mona Lisa?', 'Explain how a stock market index fund works.'];

export function writeCorpus(folder: string, files: Record<string, string> = CORPUS): string[] {
  fs.mkdirSync(folder, { recursive: true });
  return Object.entries(files).map(([name, text]) => {
    const file = path.join(folder, name);
    fs.writeFileSync(file, text);
    return file;
  });
}
