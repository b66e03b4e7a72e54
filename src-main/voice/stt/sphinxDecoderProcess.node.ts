import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { AgentError } from '../../../src-shared/contract/index.js';
import { projectRoot } from '../../models/projectPaths.node.js';
import { SPHINX_INSTALL_HINT } from './sphinxBatchDecoder.node.js';

/** Where `npm run build` puts the decoder (scripts/build-sphinx-stream.js). */
export function sphinxStreamHelperPath(): string {
  return path.join(projectRoot(), 'build', 'native', 'sphinx-stream');
}

const LOAD_TIMEOUT_MS = 60_000;
/**
 * With work outstanding (audio it has not reported on, or an utterance to end), a decoder that says nothing for this
 * long is stuck: it is killed, and the utterance goes to a new one. A working decoder reports every 100 ms of audio.
 */
const STALL_MS = 20_000;
/** A saved mean is a line of a few numbers; anything bigger is not one. */
const MEAN_FILE_MAX_BYTES = 4096;

/** What the decoder process says about the utterance it is working on. */
export interface DecoderListener {
  /** The hypothesis of the utterance's first `heardSamples` samples. */
  partial(text: string, heardSamples: number): void;
  final(text: string): void;
  cancelled(): void;
  /**
   * The process reported an error (`processDied` false), or died or was killed as stuck (`processDied` true): the
   * utterance may be tried again on a new one.
   */
  failed(error: AgentError, processDied: boolean): void;
}

/**
 * The long-lived `sphinx-stream` process (native/sphinx-stream/sphinxStream.c): one PocketSphinx decoder loaded once,
 * fed one utterance at a time as raw PCM over stdin. It runs in its own process so its CPU time is off the event loop
 * and a crash in the decoder cannot take the app down; killing it is always possible. The cepstral mean it adapts to
 * the user's microphone is saved in `meanFile` and given back to the next session.
 */
export class SphinxDecoderProcess {
  private child: ChildProcessWithoutNullStreams | undefined;
  private ready: Promise<void> | undefined;
  private listener: DecoderListener | undefined;
  private exited = false;
  /** Samples sent in the current utterance, and how many of them the decoder has reported on. */
  private sentSamples = 0;
  private reportedSamples = 0;
  /** An end or cancel was sent and not yet answered. */
  private awaitingEnd = false;
  /** The last sign of progress while work was outstanding. */
  private progressAt = 0;
  private stalled = false;

  constructor(
    private readonly helperPath: string,
    private readonly args: readonly string[],
    private readonly meanFile: string | undefined,
    /** How long a decoder with work outstanding may say nothing before it counts as stuck. */
    private readonly stallMs = STALL_MS,
  ) {}

  /** Starts the process (once) and resolves when its model is loaded. A failed start is not kept: the next call retries. */
  start(): Promise<void> {
    if (!this.ready) {
      const ready = this.spawn();
      this.ready = ready;
      ready.catch(() => {
        if (this.ready === ready) this.ready = undefined;
      });
    }
    return this.ready;
  }

  /** The utterance the next lines belong to. */
  attach(listener: DecoderListener | undefined): void {
    this.listener = listener;
  }

  send(type: 'S' | 'A' | 'E' | 'X' | 'M', payload?: Uint8Array): void {
    const child = this.child;
    if (!child || this.exited || !child.stdin.writable) return;
    if (!this.outstanding()) this.progressAt = performance.now();
    if (type === 'S') {
      this.sentSamples = 0;
      this.reportedSamples = 0;
    } else if (type === 'A') this.sentSamples += (payload?.byteLength ?? 0) / 2;
    else if (type === 'E' || type === 'X') this.awaitingEnd = true;
    const header = Buffer.alloc(5);
    header.write(type, 0, 'latin1');
    header.writeUInt32LE(payload?.byteLength ?? 0, 1);
    child.stdin.write(payload && payload.byteLength > 0 ? Buffer.concat([header, payload]) : header);
  }

  sendAudio(samples: Int16Array): void {
    this.send('A', new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    this.ready = undefined;
    if (!child || this.exited) return;
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.stdin.end(Buffer.from([0x51, 0, 0, 0, 0])); // 'Q'
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    await closed;
    clearTimeout(killTimer);
  }

  private async spawn(): Promise<void> {
    this.stalled = false;
    this.awaitingEnd = false;
    this.sentSamples = 0;
    this.reportedSamples = 0;
    if (!existsSync(this.helperPath)) {
      throw new AgentError('STT_UNAVAILABLE', `The streaming PocketSphinx decoder (${this.helperPath}) is not built: run "npm run build" with libpocketsphinx-dev installed.`);
    }
    const mean = await this.savedMean();
    const child = spawn(this.helperPath, [...this.args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = false;
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
    // A write to a process that just died fails with EPIPE: the exit handler reports it.
    child.stdin.on('error', () => undefined);
    let loaded: () => void = () => undefined;
    let loadFailed: (error: AgentError) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      loaded = resolve;
      loadFailed = reject;
    });
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const kind = line[0];
      const text = line.slice(2).trim();
      this.progressAt = performance.now();
      if (kind === 'R') loaded();
      else if (kind === 'P') {
        const [, samples = '0', words = ''] = /^(\d+) ?(.*)$/.exec(text) ?? [];
        this.reportedSamples = Number(samples);
        this.listener?.partial(words.trim(), Number(samples));
      } else if (kind === 'F' || kind === 'C') {
        this.awaitingEnd = false;
        if (kind === 'F') this.listener?.final(text);
        else this.listener?.cancelled();
      } else if (kind === 'N') void this.saveMean(text);
      else if (kind === 'E') {
        // Only a model that does not load is a matter of installing something.
        const hint = /load/.test(text) ? ` ${SPHINX_INSTALL_HINT}.` : '';
        const error = new AgentError('STT_UNAVAILABLE', `PocketSphinx failed: ${text}.${hint}`);
        loadFailed(error);
        this.listener?.failed(error, false);
      }
    });
    const watchdog = setInterval(() => {
      if (this.child !== child || !this.outstanding() || performance.now() - this.progressAt < this.stallMs) return;
      this.stalled = true;
      child.kill('SIGKILL');
    }, Math.min(2_000, this.stallMs / 4));
    watchdog.unref();
    child.on('error', (error) => loadFailed(new AgentError('STT_UNAVAILABLE', `Could not start ${this.helperPath}: ${error.message}.`)));
    child.on('close', (code, signal) => {
      clearInterval(watchdog);
      this.exited = true;
      if (this.child === child) {
        this.child = undefined;
        this.ready = undefined;
      }
      const why = this.stalled ? `stopped responding for ${this.stallMs / 1000} s and was stopped` : `stopped (${signal ?? `exit code ${code}`})`;
      const error = new AgentError('STT_UNAVAILABLE', `The PocketSphinx decoder ${why}.`, stderr.trim() || undefined);
      loadFailed(error);
      this.listener?.failed(error, true);
    });
    const timer = setTimeout(() => {
      loadFailed(new AgentError('STT_UNAVAILABLE', `PocketSphinx did not load its model within ${LOAD_TIMEOUT_MS / 1000} s.`));
      child.kill('SIGKILL');
    }, LOAD_TIMEOUT_MS);
    try {
      await ready;
    } finally {
      clearTimeout(timer);
    }
    if (mean) this.send('M', Buffer.from(mean.trim(), 'latin1'));
  }

  /** Audio the decoder has not reported on, or an end it has not answered. */
  private outstanding(): boolean {
    return this.awaitingEnd || this.sentSamples - this.reportedSamples >= 3200;
  }

  /** The mean saved by an earlier session, if the file holds one: a short line of finite numbers. */
  private async savedMean(): Promise<string | undefined> {
    if (!this.meanFile) return undefined;
    const info = await stat(this.meanFile).catch(() => undefined);
    if (!info?.isFile() || info.size > MEAN_FILE_MAX_BYTES) return undefined;
    const text = (await readFile(this.meanFile, 'latin1').catch(() => '')).trim();
    return isMeanLine(text) ? text : undefined;
  }

  /** Written whole then renamed, so a crash never leaves half a mean behind. */
  private async saveMean(text: string): Promise<void> {
    if (!this.meanFile || !isMeanLine(text)) return;
    try {
      await mkdir(path.dirname(this.meanFile), { recursive: true });
      const partial = `${this.meanFile}.${process.pid}.tmp`;
      await writeFile(partial, `${text}\n`);
      await rename(partial, this.meanFile);
    } catch {
      // Only the next session's first utterance is recognised less well.
    }
  }
}

/** A cepstral mean as the decoder prints it: 1 to 64 comma-separated finite numbers, each within ±1000. */
export function isMeanLine(text: string): boolean {
  const values = text.split(',');
  return values.length >= 1 && values.length <= 64 && values.every((value) => /^-?\d{1,4}(\.\d+)?$/.test(value) && Math.abs(Number(value)) <= 1000);
}
