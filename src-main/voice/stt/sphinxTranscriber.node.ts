import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { devNull, tmpdir } from 'node:os';
import path from 'node:path';
import { AgentError } from '../../../src-shared/contract/index.js';
import { encodeWav16 } from '../audio/wavCodec.node.js';
import { speechLevelDbfs } from '../vad/energyGate.js';
import { filterNoSpeech, isBelowSpeechGate, NO_SPEECH } from './noSpeechFilter.js';
import { recognitionCancelled, type SpeechTranscriber, type Transcript, type TranscribeOptions } from './speechTranscriber.js';

export const SPHINX_BINARY = 'pocketsphinx_continuous';
const INSTALL_HINT = 'install it with "sudo apt-get install pocketsphinx pocketsphinx-en-us"';

export interface SphinxTranscriberOptions {
  /** A command name looked up on PATH, or a path to the binary. */
  binary?: string;
}

/**
 * CMU PocketSphinx as a fallback recogniser on Linux: one `pocketsphinx_continuous` process per
 * utterance, fed a temporary WAV. Good on clear synthetic voices, weak on real speech; most of each
 * call is the process loading its acoustic model.
 */
export class SphinxTranscriber implements SpeechTranscriber {
  readonly engine = 'sphinx' as const;
  private readonly binary: string;
  private binaryPath: string | undefined;

  constructor(options: SphinxTranscriberOptions = {}) {
    this.binary = options.binary ?? SPHINX_BINARY;
  }

  async load(): Promise<void> {
    this.binaryPath ??= findExecutable(this.binary);
    if (this.binaryPath === undefined) {
      throw new AgentError('STT_UNAVAILABLE', `PocketSphinx (${this.binary}) is not installed: ${INSTALL_HINT}.`);
    }
  }

  async transcribe(audio: Int16Array, options: TranscribeOptions = {}): Promise<Transcript> {
    const level = speechLevelDbfs(audio);
    if (isBelowSpeechGate(level)) return NO_SPEECH;
    await this.load();
    if (options.signal?.aborted) throw recognitionCancelled();
    const workDir = await mkdtemp(path.join(tmpdir(), 'sphinx-'));
    try {
      const wavPath = path.join(workDir, 'utterance.wav');
      await writeFile(wavPath, encodeWav16(audio, 16_000));
      const stdout = await this.run(['-infile', wavPath, '-logfn', devNull], options.signal);
      return filterNoSpeech(stdout.split('\n').map((line) => line.trim()).filter(Boolean).join(' '), level);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  async dispose(): Promise<void> {}

  private run(args: string[], signal: AbortSignal | undefined): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.binaryPath!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const onAbort = () => child.kill('SIGKILL');
      signal?.addEventListener('abort', onAbort, { once: true });
      child.on('error', (error) => {
        signal?.removeEventListener('abort', onAbort);
        reject(new AgentError('STT_UNAVAILABLE', `Could not start PocketSphinx (${this.binaryPath}): ${error.message}; ${INSTALL_HINT}.`));
      });
      child.on('close', (code) => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) reject(recognitionCancelled());
        else if (code === 0) resolve(stdout);
        else {
          reject(
            new AgentError(
              'STT_UNAVAILABLE',
              `PocketSphinx failed (exit code ${code}); its English model may be missing: ${INSTALL_HINT}.`,
              stderr.trim().slice(-2000) || undefined,
            ),
          );
        }
      });
    });
  }
}

/** The absolute path of an executable: `name` itself when it contains a slash, else the first hit on PATH. */
export function findExecutable(name: string): string | undefined {
  const candidates = name.includes('/') ? [path.resolve(name)] : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, name));
  return candidates.find((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
