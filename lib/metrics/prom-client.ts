// Loads prom-client lazily: it is an optional peer dependency, needed only by applications that export metrics.

/**
 * What this package uses of a prom-client `Registry` (a prom-client `Registry` is one). Declared here, not
 * imported, so an application that does not use metrics compiles without prom-client installed.
 */
export interface PromRegistry {
  readonly contentType: string;
  metrics(): Promise<string>;
  getSingleMetric(name: string): unknown;
}

/** What this package uses of the prom-client module (`import * as promClient from 'prom-client'` is one). */
export interface PromClientModule {
  register: PromRegistry;
  Counter: new (configuration: never) => unknown;
  Gauge: new (configuration: never) => unknown;
  Histogram: new (configuration: never) => unknown;
}

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
