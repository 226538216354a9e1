// The values the micro benchmarks read: 1 KB of query rows, and AI answers of ~1 KB and ~50 KB of English-like text.

/** ~1 KB of rows, like a page of a recipes query. */
export const ROWS_1KB = Array.from({ length: 8 }, (_, i) => ({
  id: i + 1,
  title: `Recipe number ${i + 1} with rice`,
  cuisine: i % 2 ? 'thai' : 'italian',
  minutes: 20 + i,
  tags: ['quick', 'dinner'],
}));

const WORDS = (
  'the a of and to in with for on your until then add stir heat pan oil salt pepper garlic onion ginger rice egg ' +
  'chicken tofu noodles sauce minutes simmer boil chop slice dice fresh lemon juice butter cream cheese tomato basil ' +
  'serve warm bowl plate crispy golden tender season taste gently medium high low bring water stock broth coconut ' +
  'milk curry paste chili lime coriander mint sesame soy vinegar sugar honey flour dough bake oven roast grill'
).split(' ');

/** A deterministic recipe-like text of about `bytes` bytes (seeded, so every run stores the same answer). */
export function recipeText(bytes: number, seed = 7): string {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state;
  };
  const parts: string[] = [];
  let size = 0;
  let step = 1;
  while (size < bytes) {
    const length = 6 + (next() % 14);
    const words = Array.from({ length }, () => WORDS[next() % WORDS.length]);
    const sentence = `Step ${step++}: ${words.join(' ')}. `;
    parts.push(sentence);
    size += sentence.length;
  }
  return parts.join('');
}

/** An AI answer object around a text of about `bytes` bytes. */
export function answer(bytes: number): { model: string; text: string; tokens: number } {
  const text = recipeText(bytes);
  return { model: 'chef-1', text, tokens: Math.round(text.length / 4) };
}
