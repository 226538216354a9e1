// The session secret: SESSION_SECRET, or in development one generated secret kept in the data directory and shared by every instance.
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { envValue, StartupError } from './connect';

/** The file in the data directory that holds the generated development secret. */
export const SECRET_FILE = 'session-secret';

/**
 * The secret(s) signing the session cookie: `SESSION_SECRET` (comma-separated for rotation); without it,
 * in production a {@link StartupError} naming it, in development the shared secret of `dataDir`.
 */
export function sessionSecret(env: NodeJS.ProcessEnv, dataDir: string): string[] {
  const configured = envValue(env, 'SESSION_SECRET');
  if (configured !== undefined) {
    const secrets = configured.split(',').filter((secret) => secret.trim() !== '');
    if (secrets.length > 0) return secrets;
  }
  if (env.NODE_ENV === 'production') {
    throw new StartupError(
      'SESSION_SECRET must be set when NODE_ENV=production: every instance behind one site needs the same secret ' +
        '(a long random string from your secret store; comma-separated to rotate)',
    );
  }
  return [developmentSecret(dataDir)];
}

/**
 * Reads `<dataDir>/session-secret`, creating it first when missing. Creation is atomic and exclusive: the
 * secret is written whole to a file of this process, then hard-linked to the final name, which fails when
 * another instance got there first (then its secret is read), so instances starting together agree.
 */
export function developmentSecret(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, SECRET_FILE);
  const existing = readSecret(file);
  if (existing !== undefined) return existing;
  const temporary = join(dataDir, `.${SECRET_FILE}.${process.pid}.${randomBytes(6).toString('hex')}`);
  writeFileSync(temporary, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  const secret = readSecret(file);
  if (secret === undefined) throw new StartupError(`${file} is empty: delete it to have a new secret generated`);
  return secret;
}

function readSecret(file: string): string | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return text === '' ? undefined : text;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
