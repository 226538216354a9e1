// Loads prom-client lazily: it is an optional peer dependency, needed only by applications that export metrics.
import type * as PromClient from 'prom-client';

/** The prom-client module's shape (what `import * as promClient from 'prom-client'` gives). */
export type PromClientModule = typeof PromClient;

let loaded: PromClientModule | undefined;

/** Returns the installed prom-client, or throws an Error that says how to install it. */
export function loadPromClient(): PromClientModule {
  if (!loaded) {
    try {
      // A plain require at call time, so importing this package never requires prom-client.
      loaded = require('prom-client') as PromClientModule;
    } catch (error) {
      throw new Error(
        'prometheusMetrics() needs the optional peer dependency prom-client: run `npm install prom-client`, or pass the module as the promClient option',
        { cause: error },
      );
    }
  }
  return loaded;
}
