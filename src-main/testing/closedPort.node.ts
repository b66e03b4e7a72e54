import { createServer, type AddressInfo } from 'node:net';

/** A port that nothing listens on: a server that was started and closed again (an unreachable download mirror). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
