import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PlaybackDiagnostics } from '../src-renderer/voice/speechPlayer.dom.js';
import { encodeWav16 } from '../src-main/voice/audio/wavCodec.node.js';
import { readWavFile } from '../src-main/voice/audio/wavReader.node.js';
import { FliteSpeechSynthesizer } from '../src-main/voice/tts/fliteSpeechSynthesizer.node.js';
import { startAssistant, type RunningAssistant } from './support/assistantHarness.js';
import { fakeMicrophoneArgs, launchBrowser } from './support/browser.js';

/** whisper.cpp's sample: "And so my fellow Americans, ask not what your country can do for you, ...". */
const JFK_WAV = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/audio/jfk.wav');

interface Utterance {
  path: string;
  /** How long the speech itself lasts, without the silence around it. */
  speechMs: number;
}

/**
 * A spoken question for the fake microphone, in the built-in voice (PocketSphinx recognises flite well), with
 * silence before and after. Chromium loops the file, so the trailing silence is the pause between repetitions.
 */
async function makeUtterance(dir: string, text: string, trailingSilenceMs: number): Promise<Utterance> {
  const speech = await new FliteSpeechSynthesizer().synthesize(text, { voice: 'slt' });
  const silence = (ms: number) => new Int16Array(Math.round((speech.sampleRate * ms) / 1000));
  const leading = silence(1000);
  const trailing = silence(trailingSilenceMs);
  const samples = new Int16Array(leading.length + speech.samples.length + trailing.length);
  samples.set(speech.samples, leading.length);
  const file = path.join(dir, `${text.replace(/\W+/g, '-')}-${trailingSilenceMs}.wav`);
  await writeFile(file, encodeWav16(samples, speech.sampleRate));
  return { path: file, speechMs: (speech.samples.length * 1000) / speech.sampleRate };
}

/** A voice test waits for looping audio, speech recognition and a spoken answer. */
const VOICE_TEST_TIMEOUT_MS = 150_000;

type AudioWindow = Window & { __assistantAudio: PlaybackDiagnostics };

function playback(page: Page): Promise<PlaybackDiagnostics> {
  return page.evaluate(() => ({ ...(window as unknown as AudioWindow).__assistantAudio }));
}

async function openVoiceApp(page: Page, assistant: RunningAssistant): Promise<void> {
  await page.goto(assistant.host.url);
  await expect.poll(() => page.getByTestId('model-status').getAttribute('data-state'), { timeout: 30_000 }).toBe('warm');
  const sttPill = page.getByTestId('voice-status').locator('[data-engine="speech-to-text"]');
  await expect.poll(() => sttPill.getAttribute('data-state'), { timeout: 30_000 }).toBe('ready');
  expect(await sttPill.textContent()).toContain('sphinx');
  await expect.poll(() => page.getByTestId('mic-level').getAttribute('data-state')).toBe('ready');
}

async function setMode(page: Page, mode: 'push-to-talk' | 'hands-free'): Promise<void> {
  const toggle = page.getByTestId('voice-mode');
  if ((await toggle.getAttribute('data-mode')) !== mode) await toggle.click();
  await expect.poll(() => toggle.getAttribute('data-mode')).toBe(mode);
}

/**
 * Waits, using the page's own mic level meter, until the looping utterance has just ended: loud, then quiet for a
 * while. The next repetition then starts after the rest of the trailing silence plus the leading second.
 */
async function waitForEndOfUtterance(page: Page): Promise<void> {
  await page.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const meter = document.querySelector<HTMLElement>('[data-testid="mic-level"]')!;
        let heardSpeech = false;
        let quietSince = 0;
        // A deadline, so a stalled fake microphone fails the test with a reason instead of hanging it.
        const deadline = setTimeout(() => {
          clearInterval(poll);
          reject(new Error(`the fake microphone's utterance did not end within 30 s (heard speech: ${heardSpeech})`));
        }, 30_000);
        const poll = setInterval(() => {
          const level = Number(meter.dataset.level);
          if (level > 0.01) {
            heardSpeech = true;
            quietSince = 0;
          } else if (heardSpeech) {
            quietSince ||= performance.now();
            if (performance.now() - quietSince > 300) {
              clearInterval(poll);
              clearTimeout(deadline);
              resolve();
            }
          }
        }, 10);
      }),
  );
}

/** Holds Space over one whole repetition of the utterance (from just after the previous one ended), then releases. */
async function speakWithPushToTalk(page: Page, utterance: Utterance, trailingSilenceMs: number): Promise<void> {
  await waitForEndOfUtterance(page);
  await page.keyboard.down('Space');
  await expect.poll(() => page.getByTestId('voice-state').getAttribute('data-state')).toBe('listening');
  await page.waitForTimeout(trailingSilenceMs - 300 + 1000 + utterance.speechMs + 400);
  await page.keyboard.up('Space');
}

async function lastAnswerStatus(page: Page): Promise<string | null> {
  return page.getByTestId('assistant-message').last().getAttribute('data-status');
}

describe('voice conversations in the browser: fake microphone → agent (Silero VAD, PocketSphinx, flite) → speakers', () => {
  let audioDir: string;
  let assistant: RunningAssistant;
  let browser: Browser | undefined;

  beforeAll(async () => {
    audioDir = await mkdtemp(path.join(os.tmpdir(), 'voice-e2e-'));
  });

  afterAll(async () => {
    await rm(audioDir, { recursive: true, force: true });
  });

  // A fresh agent per test: the voice session's mode, conversation and any utterance still in flight do not carry over.
  beforeEach(async () => {
    assistant = await startAssistant({ voice: { stt: 'sphinx' } });
    await assistant.agent.voice?.whenLoaded();
  });

  afterEach(async () => {
    await browser?.close();
    browser = undefined;
    await assistant?.close();
  });

  it('hands-free: a spoken question becomes a user turn, the answer streams and is spoken aloud, with its latency waterfall', async () => {
    // A long pause after the question, so its next repetition does not barge in on the answer.
    const question = await makeUtterance(audioDir, 'what is the weather like today', 8000);
    browser = await launchBrowser({ extraArgs: fakeMicrophoneArgs(question.path) });
    const page = await browser.newPage();
    await openVoiceApp(page, assistant);

    await setMode(page, 'hands-free');

    await expect.poll(() => page.getByTestId('user-message').allTextContents(), { timeout: 45_000 }).toContainEqual(expect.stringMatching(/weather/i));
    const transcript = page.getByTestId('live-transcript');
    expect(await transcript.getAttribute('data-final')).toBe('true');
    expect(await transcript.textContent()).toMatch(/weather/i);
    await expect.poll(() => lastAnswerStatus(page), { timeout: 30_000 }).toMatch(/complete|interrupted/);
    expect(((await page.getByTestId('assistant-text').last().textContent()) ?? '').length).toBeGreaterThan(0);

    const waterfall = page.getByTestId('latency-waterfall');
    await waterfall.waitFor({ timeout: 30_000 });
    for (const stage of ['transcript', 'first-token', 'first-audio']) {
      const row = waterfall.locator(`[data-stage="${stage}"]`);
      expect(Number(await row.getAttribute('data-ms'))).toBeGreaterThan(0);
      expect(await row.textContent()).toMatch(/\d+ ms/);
    }
    // The new stage: when the answer was prepared, during the pause (speculatively) or after the end of speech.
    const prepared = waterfall.locator('[data-stage="prepared"]');
    expect(await prepared.textContent()).toMatch(/\d+ ms/);
    expect(await prepared.getAttribute('data-speculation')).toMatch(/^(adopted|discarded|none)$/);

    await expect.poll(async () => (await playback(page)).samplesPlayed, { timeout: 30_000 }).toBeGreaterThan(0);
    await expect.poll(async () => (await playback(page)).peak, { timeout: 10_000 }).toBeGreaterThan(0.01);
  }, VOICE_TEST_TIMEOUT_MS);

  it('push-to-talk: holding Space over the question and releasing it sends one user turn', async () => {
    const trailingSilenceMs = 2000;
    const question = await makeUtterance(audioDir, 'set a timer for ten minutes', trailingSilenceMs);
    browser = await launchBrowser({ extraArgs: fakeMicrophoneArgs(question.path) });
    const page = await browser.newPage();
    await openVoiceApp(page, assistant);
    await setMode(page, 'push-to-talk');

    await speakWithPushToTalk(page, question, trailingSilenceMs);

    await expect.poll(() => page.getByTestId('user-message').count(), { timeout: 30_000 }).toBe(1);
    expect(await page.getByTestId('user-message').textContent()).toMatch(/ten minutes/i);
    await expect.poll(() => lastAnswerStatus(page), { timeout: 30_000 }).toMatch(/complete|interrupted/);
    // Nothing more is heard while the key is up, though the microphone keeps playing the question.
    await page.waitForTimeout(1000 + question.speechMs + trailingSilenceMs);
    expect(await page.getByTestId('user-message').count()).toBe(1);
  }, VOICE_TEST_TIMEOUT_MS);

  it('hands-free with real speech (jfk.wav): the recognised turn contains "country"', async () => {
    // jfk.wav has pauses of up to 1.1 s inside its one sentence and none at its end; with silence after it and a longer
    // end-of-speech pause, the sentence is one utterance per repetition of the file.
    const jfk = await readWavFile(JFK_WAV);
    const padded = new Int16Array(jfk.samples.length + jfk.sampleRate * 4);
    padded.set(jfk.samples);
    const file = path.join(audioDir, 'jfk-padded.wav');
    await writeFile(file, encodeWav16(padded, jfk.sampleRate));
    await assistant.agent.call('voice:configure', { endSilenceMs: 1500 });
    browser = await launchBrowser({ extraArgs: fakeMicrophoneArgs(file) });
    const page = await browser.newPage();
    await openVoiceApp(page, assistant);
    await setMode(page, 'hands-free');

    await expect
      .poll(() => page.getByTestId('user-message').allTextContents(), { timeout: 100_000, interval: 1000 })
      .toContainEqual(expect.stringMatching(/country/i));
  }, VOICE_TEST_TIMEOUT_MS);

  it('without microphone permission, says the microphone is unavailable and text chat still works', async () => {
    // The fake device exists, but without --use-fake-ui-for-media-stream the permission prompt is refused.
    const question = await makeUtterance(audioDir, 'hello there', 1000);
    const [, , fakeFile] = fakeMicrophoneArgs(question.path);
    browser = await launchBrowser({ extraArgs: ['--use-fake-device-for-media-stream', fakeFile!] });
    const page = await browser.newPage();
    await page.goto(assistant.host.url);

    const unavailable = page.getByTestId('mic-unavailable');
    await unavailable.waitFor({ timeout: 30_000 });
    expect(await unavailable.textContent()).toMatch(/^Microphone unavailable: .+ Text chat still works\.$/);
    expect(await page.getByTestId('mic-button').isDisabled()).toBe(true);

    const input = page.getByTestId('question-input');
    await input.fill('The little dog ran to the park and');
    await input.press('Enter');
    await expect.poll(() => lastAnswerStatus(page), { timeout: 30_000 }).toBe('complete');
    expect(((await page.getByTestId('assistant-text').last().textContent()) ?? '').length).toBeGreaterThan(0);
  }, VOICE_TEST_TIMEOUT_MS);
});

describe('barge-in: pressing push-to-talk while the assistant speaks', () => {
  let audioDir: string;
  let assistant: RunningAssistant;
  let browser: Browser | undefined;

  beforeAll(async () => {
    audioDir = await mkdtemp(path.join(os.tmpdir(), 'voice-e2e-'));
    // Two threads make stories260K generate at roughly 50 tokens/s (one thread: ~1,500), so the answer is still
    // being written while its first sentences are spoken, and the barge-in interrupts the turn itself.
    assistant = await startAssistant({ voice: { stt: 'sphinx' }, llm: { threads: 2 } });
    await assistant.agent.voice?.whenLoaded();
  });

  afterAll(async () => {
    await browser?.close();
    await assistant?.close();
    await rm(audioDir, { recursive: true, force: true });
  });

  it('stops playback at once, drops the rest of the answer audio, and the answer ends interrupted', async () => {
    const trailingSilenceMs = 2000;
    const question = await makeUtterance(audioDir, 'tell me a long story about a dragon', trailingSilenceMs);
    browser = await launchBrowser({ extraArgs: fakeMicrophoneArgs(question.path) });
    const page = await browser.newPage();
    await openVoiceApp(page, assistant);
    await setMode(page, 'push-to-talk');

    await speakWithPushToTalk(page, question, trailingSilenceMs);
    await expect.poll(() => page.getByTestId('voice-state').getAttribute('data-state'), { timeout: 30_000 }).toBe('speaking');
    await expect.poll(async () => (await playback(page)).playing, { timeout: 10_000 }).toBe(true);
    expect(await lastAnswerStatus(page)).toBe('streaming');

    // Measured in the page: from the key event to the player reporting silence.
    const stoppedAfterMs = page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          window.addEventListener(
            'keydown',
            () => {
              const pressedAt = performance.now();
              const poll = setInterval(() => {
                // After 5 s it has surely failed: report that (the assertion below fails) rather than hang.
                if ((window as unknown as AudioWindow).__assistantAudio.playing && performance.now() - pressedAt < 5_000) return;
                clearInterval(poll);
                resolve(performance.now() - pressedAt);
              }, 2);
            },
            { once: true, capture: true },
          );
        }),
    );
    await page.keyboard.down('Space');
    expect(await stoppedAfterMs).toBeLessThan(100);

    await expect.poll(() => lastAnswerStatus(page), { timeout: 10_000 }).toBe('interrupted');
    const afterStop = await playback(page);
    await page.waitForTimeout(1500);
    // Audio of the interrupted answer that was still on its way is not played.
    expect(await playback(page)).toMatchObject({ playing: false, chunksPlayed: afterStop.chunksPlayed });
    expect(await page.getByTestId('voice-state').getAttribute('data-state')).toBe('listening');
    await page.keyboard.up('Space');
  }, VOICE_TEST_TIMEOUT_MS);
});
