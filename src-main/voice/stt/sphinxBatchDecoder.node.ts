import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { devNull, tmpdir } from 'node:os';
import path from 'node:path';
import { AgentError } from '../../../src-shared/contract/index.js';
import { encodeWav16 } from '../audio/wavCodec.node.js';
import { recognitionCancelled } from './speechTranscriber.js';

export const SPHINX_BINARY = 'pocketsphinx_continuous';
export const SPHINX_INSTALL_HINT = 'install it with "sudo apt-get install pocketsphinx pocketsphinx-en-us"';

/**
 * Whole-utterance recognition with Debian's `pocketsphinx_continuous`: one process per utterance, fed a temporary
 * WAV; the raw hypothesis text (one line per segment its own VAD found, joined). Most of each call is the process
 * loading its acoustic model (0.6–1.6 s), so this is only the fallback when the streaming decoder is not built.
 */
export async function decodeWithSphinxProcess(binaryPath: string, audio: Int16Array, signal?: AbortSignal): Promise<string> {
  if (signal?.aborted) throw recognitionCancelled();
  const workDir = await mkdtemp(path.join(tmpdir(), 'sphinx-'));
  try {
    const wavPath = path.join(workDir, 'utterance.wav');
    await writeFile(wavPath, encodeWav16(audio, 16_000));
    const stdout = await run(binaryPath, ['-infile', wavPath, '-logfn', devNull], signal);
    return stdout
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .join(' ');
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

function run(binaryPath: string, args: string[], signal: AbortSignal | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binaryPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new AgentError('STT_UNAVAILABLE', `Could not start PocketSphinx (${binaryPath}): ${error.message}; ${SPHINX_INSTALL_HINT}.`));
    });
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(recognitionCancelled());
      else if (code === 0) resolve(stdout);
      else {
        reject(
          new AgentError(
            'STT_UNAVAILABLE',
            `PocketSphinx failed (exit code ${code}); its English model may be missing: ${SPHINX_INSTALL_HINT}.`,
            stderr.trim().slice(-2000) || undefined,
          ),
        );
      }
    });
  });
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
