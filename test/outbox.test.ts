import { expect } from 'chai';
import { Outbox } from '../lib/redis';
import { waitFor } from './support';

/** Collects console.warn lines until `stop()`. */
function captureWarnings(): { lines: string[]; stop: () => void } {
  const original = console.warn;
  const lines: string[] = [];
  console.warn = (...args: unknown[]) => lines.push(args.map(String).join(' '));
  return { lines, stop: () => (console.warn = original) };
}

/** An outbox whose sends fail while `down` is set (as a Redis that does not answer). */
function outboxOf() {
  const state = { down: false, sent: [] as string[][] };
  const outbox = new Outbox<number>({
    concern: 'test',
    code: 'W_QUERY_CACHE_INVALIDATION_PENDING',
    recoveredCode: 'W_QUERY_CACHE_INVALIDATION_RECOVERED',
    meanwhile: 'bypasses the cache',
    describe: (ids) => ids.join(', '),
    send: async (ids) => {
      state.sent.push(ids);
      if (state.down) throw new Error('Redis did not answer within 200 ms');
      return ids.length;
    },
  });
  return { outbox, state };
}

describe('Outbox', () => {
  it('should hold a target while its invalidation is on its way, and clear it when it lands', async () => {
    const { outbox } = outboxOf();
    const sending = outbox.send(['tag:a']);
    expect(outbox.has('tag:a'), 'in flight').to.equal(true);
    expect(await sending).to.equal(1);
    expect(outbox.size).to.equal(0);
  });

  describe('when Redis fails', () => {
    it('should keep the targets, retry them with backoff, and print one line for the whole outage (no stack)', async () => {
      const { outbox, state } = outboxOf();
      const warnings = captureWarnings();
      try {
        state.down = true;
        for (const id of ['tag:a', 'tag:b', 'path:/x', 'tag:a']) {
          const error = await outbox.send([id]).catch((cause: unknown) => cause);
          expect(error).to.be.instanceOf(Error);
        }
        expect(outbox.ids().sort()).to.deep.equal(['path:/x', 'tag:a', 'tag:b']);
        await waitFor(() => state.sent.length >= 7, { what: 'a few background retries' });
        expect(warnings.lines, 'one line per outage').to.have.length(1);
        expect(warnings.lines[0]).to.match(
          /^\[redis-middleware\] W_QUERY_CACHE_INVALIDATION_PENDING: could not invalidate tag:a/,
        );
        expect(warnings.lines[0]).to.not.include('\n');
        state.down = false;
        await waitFor(() => outbox.size === 0, { what: 'the retry to land' });
        expect(warnings.lines).to.have.length(2);
        expect(warnings.lines[1]).to.match(
          /W_QUERY_CACHE_INVALIDATION_RECOVERED: every pending invalidation reached Redis/,
        );
      } finally {
        warnings.stop();
        outbox.close();
      }
    });

    it('should not clear a target that failed after an earlier invalidation of it began', async () => {
      const { outbox, state } = outboxOf();
      const warnings = captureWarnings();
      try {
        let release: () => void = () => undefined;
        const slow = new Promise<void>((resolve) => {
          release = resolve;
        });
        const gated = new Outbox<void>({
          concern: 'test',
          code: 'W_QUERY_CACHE_INVALIDATION_PENDING',
          meanwhile: 'bypasses the cache',
          describe: (ids) => ids.join(', '),
          send: async () => {
            if (state.down) throw new Error('down');
            await slow;
          },
        });
        const first = gated.send(['tag:a']); // began before the failure below…
        state.down = true;
        await gated.send(['tag:a']).catch(() => undefined); // …which must survive first's success
        state.down = false;
        release();
        await first;
        expect(gated.has('tag:a'), 'the later failure is still pending').to.equal(true);
        await waitFor(() => gated.size === 0, { what: 'its retry' });
        gated.close();
      } finally {
        warnings.stop();
        outbox.close();
      }
    });
  });
});
