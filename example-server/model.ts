// The stand-in AI model: a deterministic function of the ingredients that takes a few hundred ms, like inference.
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

/** What the model is asked. */
export interface SuggestInput {
  /** Normalised ingredient names (lower case, unique, sorted). */
  ingredients: string[];
}

/** One suggested dish. */
export interface Suggestion {
  title: string;
  cuisine: string;
  minutes: number;
  uses: string[];
  steps: string[];
}

/** What the model answers. */
export interface SuggestOutput {
  model: string;
  suggestions: Suggestion[];
}

/** The model's name, part of the AI cache key (`ai:chef-1:<hash>`). */
export const MODEL_NAME = 'chef-1';

const STYLES = [
  ['Rustic', 'skillet', 'italian'],
  ['Smoky', 'tacos', 'mexican'],
  ['Fragrant', 'curry', 'indian'],
  ['Quick', 'donburi', 'japanese'],
  ['Golden', 'gratin', 'french'],
  ['Crispy', 'fritters', 'fusion'],
  ['Hearty', 'stew', 'fusion'],
  ['Zesty', 'salad', 'fusion'],
] as const;

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** The answer for some ingredients, computed at once (the model's "weights" are a hash). */
export function suggestFor(input: SuggestInput): SuggestOutput {
  const digest = createHash('sha256').update(input.ingredients.join('\n')).digest();
  const suggestions = [0, 1, 2].map((n): Suggestion => {
    // Three different styles: steps of 3 through 8 styles never repeat within three picks.
    const [adjective, dish, cuisine] = STYLES[((digest[0] ?? 0) + n * 3) % STYLES.length] ?? STYLES[0];
    const uses = input.ingredients.filter((_, i) => (i + n) % 3 !== 2 || input.ingredients.length < 3);
    const main = uses.slice(0, 2).map(capitalise).join(' & ');
    return {
      title: `${adjective} ${main} ${capitalise(dish)}`,
      cuisine,
      minutes: 10 + ((digest[n + 3] ?? 0) % 8) * 5,
      uses,
      steps: [`Prepare the ${uses.join(', ')}.`, `Cook them ${dish}-style until done.`, 'Season to taste and serve.'],
    };
  });
  return { model: MODEL_NAME, suggestions };
}

/** Options of the stand-in model. */
export interface StandInModelOptions {
  /** How long one "inference" takes, in ms. @default 300 */
  delayMs?: number;
  /** Called once per call that reaches the model (the example counts them in `example_model_calls_total`). */
  onCall?: () => void;
}

/** The slow stand-in model: `suggestFor` after a delay, counting calls. */
export function standInModel(options: StandInModelOptions = {}): (input: SuggestInput) => Promise<SuggestOutput> {
  const delayMs = options.delayMs ?? 300;
  return async (input) => {
    options.onCall?.();
    await delay(delayMs);
    return suggestFor(input);
  };
}
