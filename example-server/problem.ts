// RFC 9457 problem details: the one shape of every error response, never with a stack trace.
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';

/** The `type` URIs of the example's own problems (documented under these anchors of the README). */
const TYPE_BASE = 'https://github.com/alchemorsel/redis-middleware#';

/** An error that is sent to the client as problem details. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    /** Anchor in the docs; `about:blank` when the status says it all. */
    readonly type?: string,
    /** Extra members (RFC 9457 §3.2), e.g. the invalid fields. */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail ?? title);
    this.name = 'HttpProblem';
  }
}

/** Sends a problem details response (`application/problem+json`). */
export function sendProblem(
  res: Response,
  status: number,
  title: string,
  detail?: string,
  type?: string,
  extensions: Record<string, unknown> = {},
): void {
  if (res.headersSent) return;
  res
    .status(status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: type === undefined ? 'about:blank' : `${TYPE_BASE}${type}`,
        title,
        status,
        ...(detail === undefined ? {} : { detail }),
        instance: res.req.originalUrl,
        ...extensions,
      }),
    );
}

/** 404 for every route the app does not have. */
export const notFound: RequestHandler = (req, res) => {
  sendProblem(res, 404, 'Not Found', `No route for ${req.method} ${req.path}`);
};

/** What Express and body-parser put on the errors they raise. */
interface HttpishError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  type?: string;
  message?: string;
}

/**
 * The last error handler: problems are sent as they are, client errors from Express (bad JSON, body too
 * large) keep their status and message, anything else is a 500 whose details stay in the server log.
 */
export function problemHandler(log: (error: unknown) => void): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    if (error instanceof HttpProblem) {
      sendProblem(res, error.status, error.title, error.detail, error.type, error.extensions);
      return;
    }
    const httpish = (typeof error === 'object' && error !== null ? error : {}) as HttpishError;
    const status = httpish.status ?? httpish.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const detail = httpish.type === 'entity.parse.failed' ? 'The request body is not valid JSON' : httpish.message;
      sendProblem(res, status, titleOf(status), httpish.expose === false ? undefined : detail);
      return;
    }
    log(error);
    sendProblem(res, 500, 'Internal Server Error', 'The server failed to answer; the error was logged');
  };
}

function titleOf(status: number): string {
  const titles: Record<number, string> = {
    400: 'Bad Request',
    404: 'Not Found',
    413: 'Content Too Large',
    415: 'Unsupported Media Type',
  };
  return titles[status] ?? 'Client Error';
}
