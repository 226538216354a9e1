// Mocha root hooks: every Redis process the run started is stopped when it ends.
import { killEverything } from './processes';
import { stopSharedTopologies } from './shared';

export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(30_000);
    await stopSharedTopologies();
    killEverything();
  },
};
