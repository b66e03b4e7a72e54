import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { WorkerClient } from './workerClient.node.js';

// A real worker thread that echoes `{ id, text }` after `delayMs`, and exits with code 3 on the text "crash". Asked to
// stop, it exits once its echoes are sent (or never, when `stubborn`).
const ECHO_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const timers = new Map();
parentPort.on('message', (message) => {
  if (message.type === 'cancel') return clearTimeout(timers.get(message.id));
  if (message.type === 'stop') {
    if (workerData.stubborn) return;
    parentPort.unref(); // exits when the last echo is sent
    return;
  }
  if (message.text === 'crash') process.exit(3);
  timers.set(message.id, setTimeout(() => parentPort.postMessage({ id: message.id, text: message.text.toUpperCase() }), message.delayMs));
});
`;

function echoClient(options: { gracefulStop?: { timeoutMs: number }; stubborn?: boolean } = {}) {
  let started = 0;
  const client = new WorkerClient<string>({
    start: async () => {
      started += 1;
      return new Worker(ECHO_WORKER, { eval: true, workerData: { stubborn: options.stubborn ?? false } });
    },
    readReply: (message) => {
      const reply = message as { id: number; text: string };
      return { id: reply.id, result: reply.text };
    },
    cancelMessage: (id) => ({ type: 'cancel', id }),
    crashError: (detail) => new Error(`crashed: ${detail}`),
    abortError: (signal) => signal.reason,
    ...(options.gracefulStop && { gracefulStop: { message: { type: 'stop' }, timeoutMs: options.gracefulStop.timeoutMs } }),
  });
  const send = (text: string, delayMs = 0, signal?: AbortSignal) => client.request((id) => ({ type: 'echo', id, text, delayMs }), signal);
  return { client, send, starts: () => started };
}

describe('WorkerClient', () => {
  it('answers each request by its id, with one worker for all of them', async () => {
    const { client, send, starts } = echoClient();
    expect(await Promise.all([send('slow', 50), send('fast', 0)])).toEqual(['SLOW', 'FAST']);
    expect(starts()).toBe(1);
    await client.close(new Error('closed'));
  });

  it('rejects an aborted request at once and still answers the others', async () => {
    const { client, send } = echoClient();
    const controller = new AbortController();
    const aborted = send('never', 1000, controller.signal);
    const other = send('other', 20);
    controller.abort(new Error('barge-in'));
    await expect(aborted).rejects.toThrow('barge-in');
    expect(await other).toBe('OTHER');
    await client.close(new Error('closed'));
  });

  it('rejects outstanding requests when the worker dies, and starts a fresh worker for the next one', async () => {
    const { client, send, starts } = echoClient();
    const waiting = expect(send('waiting', 5000)).rejects.toThrow('crashed');
    await expect(send('crash')).rejects.toThrow('crashed: worker exit code 3');
    await waiting;
    expect(await send('again')).toBe('AGAIN');
    expect(starts()).toBe(2);
    await client.close(new Error('closed'));
  });

  it('rejects outstanding requests with the close reason', async () => {
    const { client, send } = echoClient();
    const waiting = expect(send('waiting', 5000)).rejects.toThrow('shut down');
    await client.close(new Error('shut down'));
    await waiting;
  });

  it('with a graceful stop, lets the running call end before the worker exits, and terminates one that does not', async () => {
    const { client, send } = echoClient({ gracefulStop: { timeoutMs: 5000 } });
    const running = expect(send('running', 300)).rejects.toThrow('closed');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const closing = performance.now();
    await client.close(new Error('closed'));
    expect(performance.now() - closing).toBeGreaterThan(250); // it waited for the echo in flight
    await running; // its caller was answered at once, with the close reason

    const stubborn = echoClient({ gracefulStop: { timeoutMs: 200 }, stubborn: true });
    await stubborn.send('hello');
    const stopping = performance.now();
    await stubborn.client.close(new Error('closed'));
    expect(performance.now() - stopping).toBeGreaterThanOrEqual(190);
    expect(await stubborn.send('again')).toBe('AGAIN'); // a fresh worker
    expect(stubborn.starts()).toBe(2);
    await stubborn.client.close(new Error('closed'));
  });
});
