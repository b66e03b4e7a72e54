import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AgentError } from '../../../src-shared/contract/index.js';
import { encodeWav16 } from '../audio/wavCodec.node.js';
import { decodeWav, type PcmAudio } from '../audio/wavReader.node.js';
import { findExecutable, SphinxTranscriber } from './sphinxTranscriber.node.js';

const sphinxInstalled = findExecutable('pocketsphinx_continuous') !== undefined;
const FLITE_SYNTHESIZER = path.resolve(import.meta.dirname, '../tts/fliteSpeechSynthesizer.node.ts');

/** Makes a clear test utterance with the project's flite voice, else espeak-ng; undefined (with a reason) if neither exists. */
async function synthesizeUtterance(text: string): Promise<PcmAudio | string> {
  if (existsSync(FLITE_SYNTHESIZER)) {
    const { FliteSpeechSynthesizer } = await import('../tts/fliteSpeechSynthesizer.node.js');
    const speech = await new FliteSpeechSynthesizer().synthesize(text, { voice: 'kal16' });
    return decodeWav(encodeWav16(speech.samples, speech.sampleRate), 'flite output');
  }
  if (findExecutable('espeak-ng') !== undefined) {
    return decodeWav(execFileSync('espeak-ng', ['--stdout', text]), 'espeak-ng output');
  }
  return 'neither src-main/voice/tts/fliteSpeechSynthesizer.node.ts nor espeak-ng is available to make a test utterance';
}

describe.skipIf(!sphinxInstalled)('SphinxTranscriber (pocketsphinx_continuous)', () => {
  let utterance: PcmAudio | string;
  beforeAll(async () => {
    utterance = await synthesizeUtterance('Set a timer for ten minutes.');
    if (typeof utterance === 'string') console.warn(`Skipping the recognition check: ${utterance}`);
  });

  it('transcribes a clear utterance', async (context) => {
    if (typeof utterance === 'string') return context.skip();
    const started = performance.now();
    const transcript = await new SphinxTranscriber().transcribe(utterance.samples);
    console.info(`sphinx: ${Math.round(performance.now() - started)} ms for ${Math.round(utterance.durationMs)} ms of audio: "${transcript.text}"`);
    expect(transcript.noSpeech).toBe(false);
    expect(transcript.text).toMatch(/\btimer\b/);
    expect(transcript.text).toMatch(/\bten minutes\b/);
  });

  it('reports silence as no speech without running the recogniser', async () => {
    const started = performance.now();
    expect(await new SphinxTranscriber().transcribe(new Int16Array(32_000))).toEqual({ text: '', noSpeech: true });
    expect(performance.now() - started).toBeLessThan(200); // a spawn alone takes over a second
  });

  it('stops the recogniser and rejects with CANCELLED when aborted', async () => {
    const audio = decodeWav(execFileSync('sox', ['-n', '-r', '16000', '-c', '1', '-b', '16', '-t', 'wav', '-', 'synth', '3', 'pinknoise', 'vol', '0.3']), 'noise');
    const controller = new AbortController();
    const pending = new SphinxTranscriber().transcribe(audio.samples, { signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    const started = performance.now();
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('SphinxTranscriber without pocketsphinx', () => {
  it('says how to install it', async () => {
    const transcriber = new SphinxTranscriber({ binary: 'pocketsphinx_not_installed_here' });
    const error = await transcriber.load().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AgentError);
    expect(error).toMatchObject({ code: 'STT_UNAVAILABLE', message: expect.stringContaining('apt-get install pocketsphinx pocketsphinx-en-us') });
  });
});
