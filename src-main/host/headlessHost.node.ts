import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import {
  AgentError,
  ClientFrame,
  assertCommandName,
  parseCommandArgs,
  parseMicFrame,
  toErrorShape,
  type AgentErrorShape,
  type AgentEvent,
  type CommandArgs,
  type CommandName,
  type ServerFrame,
} from '../../src-shared/contract/index.js';
import type { AgentService } from '../agent/agentService.js';

export interface HeadlessHostOptions {
  agent: AgentService;
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
/** A question may be up to 1,000,000 characters (see commandSchemas); JSON escaping can grow that several-fold. */
const MAX_FRAME_BYTES = 8 * 1024 * 1024;
/** Failure frames about a frame whose call id could not be read carry this id. */
export const UNKNOWN_CALL_ID = -1;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.wav': 'audio/wav',
  '.onnx': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
};

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

  const server = createServer((request, response) => {
    serveStatic(staticRoot, request, response).catch((error: unknown) => {
      if (!response.headersSent) sendPlain(response, 500, `Internal error: ${(error as Error).message}`);
      else response.destroy();
    });
  });
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const rejection = checkUpgrade(request, token, ownOrigin);
    if (rejection) {
      socket.end(`HTTP/1.1 ${rejection}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    sockets.handleUpgrade(request, socket, head, (connection) =>
      serveConnection(agent, connection, () => {
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
      })();
      return closing;
    },
  };
}

/** Returns the HTTP status line to refuse the upgrade with, or undefined to accept it. */
function checkUpgrade(request: IncomingMessage, token: string, ownOrigin: string): string | undefined {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (url.pathname !== WEBSOCKET_PATH) return '404 Not Found';
  if (!tokensMatch(url.searchParams.get('token') ?? '', token)) return '401 Unauthorized';
  // Browsers always send Origin on a WebSocket; a client without one is not a web page, and still needs the token.
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== ownOrigin) return '403 Forbidden';
  return undefined;
}

function tokensMatch(given: string, expected: string): boolean {
  const givenBytes = Buffer.from(given);
  const expectedBytes = Buffer.from(expected);
  return givenBytes.length === expectedBytes.length && timingSafeEqual(givenBytes, expectedBytes);
}

function serveConnection(agent: AgentService, connection: WebSocket, onDroppedMicFrame: () => void): void {
  /** Calls still running for this connection, by the client's call id, so a `cancel` frame can abort them. */
  const running = new Map<number, AbortController>();
  const send = (frame: ServerFrame) => {
    if (connection.readyState === WebSocket.OPEN) connection.send(JSON.stringify(frame));
  };
  const fail = (id: number, error: AgentErrorShape) => send({ kind: 'failure', id, error });

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
      fail(UNKNOWN_CALL_ID, { code: 'INVALID_MESSAGE', message: 'Invalid frame: not JSON.' });
      return;
    }
    const parsed = ClientFrame.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
      fail(callIdOf(raw), { code: 'INVALID_MESSAGE', message: `Invalid frame${where}: ${issue?.message ?? 'malformed'}` });
      return;
    }
    const frame = parsed.data;
    if (frame.kind === 'cancel') {
      running.get(frame.id)?.abort();
      return;
    }
    if (running.has(frame.id)) {
      fail(frame.id, { code: 'INVALID_MESSAGE', message: `Call id ${frame.id} is already in use by a running call.` });
      return;
    }
    const controller = new AbortController();
    running.set(frame.id, controller);
    runCall(agent, frame.command, frame.args, controller.signal)
      .then(
        (value) => send({ kind: 'result', id: frame.id, value }),
        (error: unknown) =>
          fail(
            frame.id,
            controller.signal.aborted && !(error instanceof AgentError)
              ? { code: 'CANCELLED', message: `${frame.command} was cancelled.` }
              : toErrorShape(error),
          ),
      )
      .finally(() => running.delete(frame.id));
  });

  // A protocol violation (bad UTF-8, a frame over maxPayload) is emitted here after ws has already closed the
  // connection with the matching code; without a listener it would be an uncaught exception that ends the host.
  connection.on('error', () => undefined);

  // Nobody is left to receive these results.
  connection.on('close', () => {
    for (const controller of running.values()) controller.abort();
    running.clear();
  });
}

/** Validates here, at the network boundary, before anything reaches the agent (which validates again). */
async function runCall(agent: AgentService, commandName: string, args: unknown, signal: AbortSignal): Promise<unknown> {
  return callCommand(agent, assertCommandName(commandName), args, signal);
}

function callCommand<C extends CommandName>(agent: AgentService, command: C, args: unknown, signal: AbortSignal) {
  // The argument schemas only check and trim, so parsed arguments are valid input; TypeScript cannot see that for a generic C.
  return agent.call(command, parseCommandArgs(command, args) as CommandArgs<C>, signal);
}

function callIdOf(raw: unknown): number {
  if (typeof raw === 'object' && raw !== null && 'id' in raw && Number.isInteger(raw.id)) return raw.id as number;
  return UNKNOWN_CALL_ID;
}

function rawDataToBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

function rawDataToString(data: RawData): string {
  const bytes = rawDataToBytes(data);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

async function serveStatic(root: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
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
  if (pathname.includes('\0')) {
    sendPlain(response, 400, 'Bad request path');
    return;
  }
  let filePath = path.resolve(root, `.${path.posix.normalize(pathname)}`);
  // Refuse anything that resolves outside the renderer folder (../, encoded ../, absolute paths).
  const relative = path.relative(root, filePath);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    sendPlain(response, 403, 'Forbidden');
    return;
  }
  let info = await stat(filePath).catch(() => undefined);
  if (info?.isDirectory()) {
    filePath = path.join(filePath, 'index.html');
    info = await stat(filePath).catch(() => undefined);
  }
  if (!info?.isFile()) {
    sendPlain(response, 404, 'Not found');
    return;
  }
  const body = await readFile(filePath);
  const isPage = filePath.endsWith('.html');
  response.writeHead(200, {
    'Content-Type': CONTENT_TYPES[path.extname(filePath).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': body.length,
    'X-Content-Type-Options': 'nosniff',
    // The page URL carries the token; never leak it to another site.
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': isPage ? 'no-store' : 'no-cache',
    ...(isPage
      ? {
          'Content-Security-Policy':
            "default-src 'self'; connect-src 'self'; img-src 'self' data:; media-src 'self' blob:; frame-ancestors 'none'",
        }
      : {}),
  });
  response.end(request.method === 'HEAD' ? undefined : body);
}

function sendPlain(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  response.end(text);
}
