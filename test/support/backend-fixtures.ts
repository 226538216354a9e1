// Re-exports of the backend pieces the backend contract suite exercises.
import { RedisUnavailableError } from '../../lib/common/errors';

export { type Backend, defineScript, MemoryBackend, RedisBackend, resolveBackend } from '../../lib/redis';
export const RedisUnavailableErrorCode = RedisUnavailableError.code;
