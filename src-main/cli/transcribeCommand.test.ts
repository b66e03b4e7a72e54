import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CommandIo } from './commandIo.js';
import { findExecutable } from '../voice/stt/sphinxTranscriber.node.js';
import { runTranscribeCommand } from './transcribeCommand.node.js';

const JFK_WAV = path.resolve(import.meta.dirname, '../../../shared/audio/jfk.wav');
const workDir = mkdtempSync(path.join(tmpdir(), 'transcribe-command-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function captureIo(): CommandIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    out: () => out,
    err: () => err,
  };
}

describe('assistant transcribe', () => {
  it.skipIf(findExecutable('pocketsphinx_continuous') === undefined)('prints a JSON transcript of jfk.wav with timings (--stt sphinx)', async () => {
    const io = captureIo();
    expect(await runTranscribeCommand([JFK_WAV, '--stt', 'sphinx', '--json'], io)).toBe(0);
    const lines = io.out().trim().split('\n');
    expect(lines).toHaveLength(1);
    const event = JSON.parse(lines[0]!);
    expect(event).toMatchObject({ type: 'transcript', engine: 'sphinx', noSpeech: false, timings: { audioMs: 11_000 } });
    expect(event.text).toContain('country'); // sphinx hears real speech poorly, but this word it gets
    expect(event.timings.sttMs).toBeGreaterThan(0);
    expect(event.timings.loadMs).toBeGreaterThanOrEqual(0);
    console.info(`sphinx on jfk.wav: ${event.timings.sttMs} ms: "${event.text}"`);
  }, 120_000);

  it('reports a corrupt WAV as BAD_AUDIO in JSON with exit code 1', async () => {
    const corrupt = path.join(workDir, 'corrupt.wav');
    writeFileSync(corrupt, readFileSync(JFK_WAV).subarray(0, 30));
    const io = captureIo();
    expect(await runTranscribeCommand([corrupt, '--stt', 'sphinx', '--json'], io)).toBe(1);
    const event = JSON.parse(io.out().trim());
    expect(event).toMatchObject({ type: 'error', code: 'BAD_AUDIO' });
    expect(event.message).toContain(corrupt);
  });

  it('reports a non-WAV file in plain text on stderr with exit code 1', async () => {
    const text = path.join(workDir, 'notes.txt');
    writeFileSync(text, 'Shopping list: milk, eggs, bread.\n');
    const io = captureIo();
    expect(await runTranscribeCommand([text, '--stt', 'sphinx'], io)).toBe(1);
    expect(io.out()).toBe('');
    expect(io.err()).toMatch(/BAD_AUDIO.*notes\.txt is not a usable WAV file: it has no RIFF\/WAVE header/);
  });

  it('rejects an unknown engine and a missing file argument as usage errors', async () => {
    const io = captureIo();
    expect(await runTranscribeCommand([JFK_WAV, '--stt', 'google'], io)).toBe(2);
    expect(io.err()).toContain('--stt must be one of whisper, sphinx, auto');
    expect(await runTranscribeCommand(['--stt', 'sphinx'], captureIo())).toBe(2);
  });
});
