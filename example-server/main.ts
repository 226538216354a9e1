// Entry point of `npm start`: serves the example on PORT and stops cleanly on SIGTERM or SIGINT.
import { StartupError } from './connect';
import { startServer } from './server';

async function main(): Promise<void> {
  const running = await startServer(process.env);
  const { connection } = running;
  const mode = connection.mode === 'redis' ? `Redis at ${connection.target}` : `memory mode: ${connection.why}`;
  console.log(`example server listening on http://localhost:${running.port} (${mode})`);
  const shutdown = (signal: NodeJS.Signals): void => {
    console.log(`${signal} received: closing the HTTP server and Redis connections`);
    // Should anything hang, leave anyway (with a failure code) after 10 s.
    setTimeout(() => process.exit(1), 10_000).unref();
    running.stop().then(
      () => {
        process.exitCode = 0;
      },
      (error: unknown) => {
        console.error(error);
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  // A mistake in the environment is one line that says what to change; anything else keeps its stack.
  console.error(error instanceof StartupError ? `example server not started: ${error.message}` : error);
  process.exit(1);
});
