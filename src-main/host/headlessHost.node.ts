import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import sirv from 'sirv';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { parseMicFrame, type AgentErrorShape, type AgentEvent, type ServerFrame } from '../../src-shared/contract/index.js';
import { HOST_CSP_HEADER } from '../../src-shared/security/contentSecurityPolicy.js';
import { silentLogger, type AgentLogger } from '../agent/agentLogger.js';
import type { AgentService } from '../agent/agentService.js';
import { RepeatedAudit, type AuditEvent, type AuditFields } from '../agent/audit.js';
import { createCommandRouter, UNKNOWN_CALL_ID, type CommandRouter } from '../app/commandRouter.js';

export { UNKNOWN_CALL_ID };

/** The agent's Prometheus metrics (prom-client's text exposition format). */
export interface MetricsSource {
  text(): Promise<{ contentType: string; body: string }>;
}

/** The agent as the host serves it: the contract, plus metrics and, for the recoverable agent, why it is not running. */
export type HostedAgent = AgentService & {
  /** Absent while the agent cannot run (recovery mode): /metrics then answers 503. */
  readonly metrics?: MetricsSource | undefined;
  readonly problem?: AgentErrorShape | undefined;
  /** Where the host logs its own failures (a request that could not be answered) and audits refusals and rate limits. */
  readonly logger?: AgentLogger | undefined;
};

export interface HeadlessHostOptions {
  agent: HostedAgent;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The built renderer (`build/renderer`). */
  staticDir: string;
}

export interface HeadlessHost {
  /** The page to open, token included: `http://127.0.0.1:PORT/?token=TOKEN`. */
  url: string;
  token: string;
  port: number;
  /** Binary frames that were not valid mic audio (empty, odd length, over 1 s); they are dropped without a reply. */
  readonly droppedMicFrames: number;
  /** Closes connections and the server. The agent belongs to the caller and stays open. */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const WEBSOCKET_PATH = '/ws';
/**
 * A question may be up to 1,000,000 characters (see commandSchemas), and JSON escaping can grow that several-fold; a
 * document dropped in the browser arrives as up to 30,000,000 characters of base64 (docs:upload).
 */
const MAX_FRAME_BYTES = 32 * 1024 * 1024;
const METRICS_PATH = '/metrics';

/**
 * Serves the renderer and the agent to a browser on this machine only: binds 127.0.0.1, and the WebSocket
 * needs this launch's random token and the host's own Origin, so other local users' pages and other sites cannot drive it.
 */
export async function startHeadlessHost(options: HeadlessHostOptions): Promise<HeadlessHost> {
  const { agent } = options;
  const staticRoot = path.resolve(options.staticDir);
  const token = randomBytes(32).toString('base64url');
  let ownOrigin = '';
  let droppedMicFrames = 0;

  const router = createCommandRouter(agent);
  const serveStatic = staticFiles(staticRoot);
  // Refused tokens and origins are security events; a script trying tokens in a loop gets one entry a second, counted.
  const auditor = new RepeatedAudit(agent.logger ?? silentLogger);
  const refused: RefusalAudit = (event, fields) => auditor.record(event, `${fields.endpoint} ${fields.status}`, fields);

  const server = createServer((request, response) => {
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    const handled = pathname === METRICS_PATH ? serveMetrics(agent, token, ownOrigin, request, response, refused) : serveStatic(request, response);
    handled.catch((error: unknown) => {
      agent.logger?.error({ err: error instanceof Error ? error.message : String(error), method: request.method, path: pathname }, 'The host could not answer a request');
      if (!response.headersSent) sendPlain(response, 500, `Internal error: ${(error as Error).message}`);
      else response.destroy();
    });
  });
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const rejection = checkUpgrade(request, token, ownOrigin, refused);
    if (rejection) {
      socket.end(`HTTP/1.1 ${rejection}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    sockets.handleUpgrade(request, socket, head, (connection) =>
      serveConnection(agent, router, connection, () => {
        droppedMicFrames++;
      }),
    );
  });

  const unlisten = agent.listen((event: AgentEvent) => {
    const frame = JSON.stringify({ kind: 'event', event } satisfies ServerFrame);
    for (const client of sockets.clients) {
      if (client.readyState === WebSocket.OPEN) client.send(frame);
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('The headless host did not get a TCP port.');
  const port = address.port;
  ownOrigin = `http://${HOST}:${port}`;
  let closing: Promise<void> | undefined;

  return {
    url: `${ownOrigin}/?token=${token}`,
    token,
    port,
    get droppedMicFrames() {
      return droppedMicFrames;
    },
    close() {
      closing ??= (async () => {
        unlisten();
        for (const client of sockets.clients) client.close(1001, 'Host shutting down');
        await new Promise<void>((resolve) => sockets.close(() => resolve()));
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        router.close();
        auditor.flush();
      })();
      return closing;
    },
  };
}

/** Audits a refused request: what was refused where, never the token that was tried. */
type RefusalAudit = (event: Extract<AuditEvent, 'token-refused' | 'origin-refused'>, fields: AuditFields & { endpoint: string; status: number }) => void;

/** The Origin a refused request came from, as it may be logged: it is chosen by whoever sent it, so kept short. */
function loggedOrigin(origin: string): string {
  return origin.length <= 200 ? origin : `${origin.slice(0, 200)}…`;
}

/** Returns the HTTP status line to refuse the upgrade with, or undefined to accept it. */
function checkUpgrade(request: IncomingMessage, token: string, ownOrigin: string, refused: RefusalAudit): string | undefined {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (url.pathname !== WEBSOCKET_PATH) return '404 Not Found';
  if (!tokensMatch(url.searchParams.get('token') ?? '', token)) {
    refused('token-refused', { endpoint: WEBSOCKET_PATH, status: 401 });
    return '401 Unauthorized';
  }
  // Browsers always send Origin on a WebSocket; a client without one is not a web page, and still needs the token.
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== ownOrigin) {
    refused('origin-refused', { endpoint: WEBSOCKET_PATH, status: 403, origin: loggedOrigin(origin) });
    return '403 Forbidden';
  }
  return undefined;
}

function tokensMatch(given: string, expected: string): boolean {
  const givenBytes = Buffer.from(given);
  const expectedBytes = Buffer.from(expected);
  return givenBytes.length === expectedBytes.length && timingSafeEqual(givenBytes, expectedBytes);
}

function serveConnection(agent: HostedAgent, router: CommandRouter, connection: WebSocket, onDroppedMicFrame: () => void): void {
  const client = router.connect();
  const send = (frame: ServerFrame) => {
    if (connection.readyState === WebSocket.OPEN) connection.send(JSON.stringify(frame));
  };

  connection.on('message', (data: RawData, isBinary: boolean) => {
    // Binary frames are mic audio. A reply per bad frame would flood a client 33 times a second, so they are only counted.
    if (isBinary) {
      const pcm = parseMicFrame(rawDataToBytes(data));
      if (pcm === null) onDroppedMicFrame();
      else agent.sendMicFrame?.(pcm);
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(rawDataToString(data));
    } catch {
      send({ kind: 'failure', id: UNKNOWN_CALL_ID, error: { code: 'INVALID_MESSAGE', message: 'Invalid frame: not JSON.' } });
      return;
    }
    void client.receive(raw).then((reply) => reply && send(reply));
  });

  // A protocol violation (bad UTF-8, a frame over maxPayload) is emitted here after ws has already closed the
  // connection with the matching code; without a listener it would be an uncaught exception that ends the host.
  connection.on('error', () => undefined);

  // Nobody is left to receive these results.
  connection.on('close', () => client.disconnect());
}

function rawDataToBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

function rawDataToString(data: RawData): string {
  const bytes = rawDataToBytes(data);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/**
 * The built renderer, served by sirv. Files are looked up per request (sirv's `dev` mode), so a renderer rebuilt
 * while the host runs is served as it now is; sirv only serves files under `root`. Dot segments (`..`, dotfiles) are
 * refused before sirv sees the path.
 */
function staticFiles(root: string): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  const notFound = (_request: IncomingMessage, response: ServerResponse) => sendPlain(response, 404, 'Not found');
  const serve = sirv(root, {
    dev: true,
    etag: true,
    dotfiles: false,
    onNoMatch: notFound,
    setHeaders(response, pathname) {
      const isPage = pathname === '/' || pathname.endsWith('.html');
      response.setHeader('X-Content-Type-Options', 'nosniff');
      // The page URL carries the token; never leak it to another site.
      response.setHeader('Referrer-Policy', 'no-referrer');
      response.setHeader('Cache-Control', isPage ? 'no-store' : 'no-cache');
      if (isPage) {
        // The page's own meta tag holds the same policy; the header adds frame-ancestors, which only a header can.
        response.setHeader('Content-Security-Policy', HOST_CSP_HEADER);
      }
    },
  });
  return async (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      sendPlain(response, 405, 'Method not allowed');
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    } catch {
      sendPlain(response, 400, 'Bad request path');
      return;
    }
    // Source maps are for development: they would hand out the app's source.
    if (pathname.includes('\0') || pathname.endsWith('.map') || pathname.split(/[/\\]/).some((segment) => segment.startsWith('.'))) {
      sendPlain(response, 404, 'Not found');
      return;
    }
    // sirv trusts the Range header (bytes=10-5 makes its read stream throw after the headers went out): a range it
    // cannot serve as asked is ignored, and the whole file is sent (RFC 9110 allows ignoring Range).
    const range = request.headers.range;
    if (range !== undefined) {
      const match = /^bytes=(\d{1,15})-(\d{0,15})$/.exec(range.trim());
      if (!match || (match[2] !== '' && Number(match[2]) < Number(match[1]))) delete request.headers.range;
    }
    serve(request, response);
  };
}

/**
 * GET /metrics: the agent's Prometheus metrics, for this launch's token only (`Authorization: Bearer <token>` or
 * `?token=`). A refusal says nothing more than its status.
 */
async function serveMetrics(
  agent: HostedAgent,
  token: string,
  ownOrigin: string,
  request: IncomingMessage,
  response: ServerResponse,
  refused: RefusalAudit,
): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { Allow: 'GET, HEAD', 'Content-Length': 0 });
    response.end();
    return;
  }
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
  const given = bearer ?? new URL(request.url ?? '/', 'http://localhost').searchParams.get('token') ?? '';
  if (!tokensMatch(given, token)) {
    refused('token-refused', { endpoint: METRICS_PATH, status: 401 });
    response.writeHead(401, { 'WWW-Authenticate': 'Bearer', 'Content-Length': 0 });
    response.end();
    return;
  }
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== ownOrigin) {
    refused('origin-refused', { endpoint: METRICS_PATH, status: 403, origin: loggedOrigin(origin) });
    response.writeHead(403, { 'Content-Length': 0 });
    response.end();
    return;
  }
  const metrics = agent.metrics;
  if (!metrics) {
    const why = agent.problem ? `the assistant is in recovery mode (${agent.problem.code})` : 'this agent keeps none';
    sendPlain(response, 503, `No metrics: ${why}.\n`);
    return;
  }
  const { contentType, body } = await metrics.text();
  response.writeHead(200, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  response.end(request.method === 'HEAD' ? undefined : body);
}

function sendPlain(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  response.end(text);
}
