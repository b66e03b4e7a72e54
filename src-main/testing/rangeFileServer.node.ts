import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the next responses misbehave; tests change it between requests. */
export interface RangeFileServerBehaviour {
  /** Send only this many body bytes, then drop the connection. */
  dropAfterBytes?: number;
  /** Answer Range requests with 200 and the whole file, like a server without range support. */
  ignoreRange?: boolean;
  /** Send the headers and this many bytes, then go silent without closing. */
  stallAfterBytes?: number;
  /** Pause between 64 KiB chunks, so a client can act mid-transfer. */
  chunkDelayMs?: number;
  /** Answer every request with this status and no body. */
  status?: number;
  /** Send no Content-Length (chunked), like a server that does not say the size. */
  omitContentLength?: boolean;
}

export interface ServedRequest {
  url: string;
  range: string | undefined;
  status: number;
  bytesSent: number;
}

export interface RangeFileServer {
  /** URL of the file, e.g. http://127.0.0.1:PORT/model.bin */
  url: string;
  behaviour: RangeFileServerBehaviour;
  requests: ServedRequest[];
  totalBytesSent(): number;
  close(): Promise<void>;
}

const CHUNK_BYTES = 64 * 1024;

/**
 * A real HTTP server on 127.0.0.1 serving one file with `Range: bytes=N-` support, for download tests.
 * It can drop, stall or ignore ranges on demand and records every request it saw.
 */
export async function startRangeFileServer(body: Buffer, fileName = 'model.bin'): Promise<RangeFileServer> {
  const requests: ServedRequest[] = [];
  // Read through `handle` on every request, so tests may replace `behaviour` as well as mutate it.
  const handle = { behaviour: {} as RangeFileServerBehaviour };

  const server: Server = createServer((req, res) => {
    const { behaviour } = handle;
    const record: ServedRequest = { url: req.url ?? '', range: req.headers.range, status: 200, bytesSent: 0 };
    requests.push(record);

    if (behaviour.status !== undefined) {
      record.status = behaviour.status;
      res.writeHead(behaviour.status).end();
      return;
    }
    let start = 0;
    const rangeMatch = req.headers.range?.match(/^bytes=(\d+)-$/);
    if (rangeMatch && !behaviour.ignoreRange) {
      start = Number(rangeMatch[1]);
      if (start >= body.length) {
        record.status = 416;
        res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
        return;
      }
      record.status = 206;
    }
    const headers: Record<string, string | number> = { 'Content-Length': body.length - start, 'Accept-Ranges': 'bytes' };
    if (behaviour.omitContentLength) delete headers['Content-Length'];
    if (record.status === 206) headers['Content-Range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    res.writeHead(record.status, headers);

    const remaining = body.subarray(start);
    const cutAt = behaviour.dropAfterBytes ?? behaviour.stallAfterBytes;
    if (cutAt !== undefined) {
      const part = remaining.subarray(0, cutAt);
      record.bytesSent += part.length;
      const dropping = behaviour.dropAfterBytes !== undefined;
      // Give the client time to take the bytes in before the connection goes away.
      res.write(part, () => {
        if (dropping) setTimeout(() => res.socket?.destroy(), 100);
      });
      return;
    }
    let offset = 0;
    const sendNext = () => {
      if (res.destroyed) return;
      if (offset >= remaining.length) {
        res.end();
        return;
      }
      const chunk = remaining.subarray(offset, offset + CHUNK_BYTES);
      offset += chunk.length;
      record.bytesSent += chunk.length;
      res.write(chunk, () => setTimeout(sendNext, behaviour.chunkDelayMs ?? 0));
    };
    sendNext();
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(handle, {
    url: `http://127.0.0.1:${port}/${fileName}`,
    requests,
    totalBytesSent: () => requests.reduce((sum, request) => sum + request.bytesSent, 0),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
