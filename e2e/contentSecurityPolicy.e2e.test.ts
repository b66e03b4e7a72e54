import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_CSP_HEADER, RENDERER_CSP_META } from '../src-shared/security/contentSecurityPolicy.js';
import { ask, untilWarm } from './support/appInBrowser.js';
import { startAssistant, type RunningAssistant } from './support/assistantHarness.js';
import { fakeMicrophoneArgs, launchBrowser } from './support/browser.js';

/** whisper.cpp's sample, as the fake microphone: the mic only has to open, nothing needs to be recognised. */
const JFK_WAV = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/audio/jfk.wav');

type ViolationWindow = Window & { __cspViolations: string[] };

/** Every CSP violation the page reports, from before its first script runs (an init script is not subject to the CSP). */
async function recordViolations(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as ViolationWindow).__cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.effectiveDirective} blocked ${event.blockedURI}`));
  });
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) consoleErrors.push(message.text());
  });
  return async () => [...(await page.evaluate(() => (window as unknown as ViolationWindow).__cspViolations)), ...consoleErrors];
}

describe('the Content-Security-Policy in Chromium: the app works under it, and it blocks what it should', () => {
  let assistant: RunningAssistant;
  let browser: Browser;

  beforeAll(async () => {
    assistant = await startAssistant({ voice: { stt: 'sphinx' } });
    await assistant.agent.voice?.whenLoaded();
    browser = await launchBrowser({ extraArgs: fakeMicrophoneArgs(JFK_WAV) });
  });

  afterAll(async () => {
    await browser?.close();
    await assistant?.close();
  });

  it('loads, connects, opens the microphone worklet and answers with nothing blocked; string eval, WebAssembly and other hosts are refused', async () => {
    const page = await browser.newPage();
    const violations = await recordViolations(page);

    const response = await page.goto(assistant.host.url);
    expect(response?.headers()['content-security-policy']).toBe(HOST_CSP_HEADER);
    expect(await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')).toBe(RENDERER_CSP_META);

    // The bundle ran and the WebSocket on the page's own origin connected (connect-src 'self').
    await untilWarm(page, 30_000);
    // getUserMedia, and the capture AudioWorklet module loaded from assets/ (script-src 'self').
    await expect.poll(() => page.getByTestId('mic-level').getAttribute('data-state'), { timeout: 30_000 }).toBe('ready');
    await ask(page, 'The little dog ran to the park and');
    await expect.poll(() => page.getByTestId('assistant-message').last().getAttribute('data-status'), { timeout: 30_000 }).toBe('complete');

    expect(await violations()).toEqual([]);

    // And the policy is really enforced. Code that DevTools evaluates may eval (CDP allows it), so the eval probe is a
    // string timer, which runs later as the page's own code.
    const refused = await page.evaluate(async () => {
      const outcome = async (attempt: () => unknown) => {
        try {
          await attempt();
          return 'allowed';
        } catch (error) {
          return (error as Error).name;
        }
      };
      const emptyWasmModule = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
      (window as unknown as { stringTimerRan: boolean }).stringTimerRan = false;
      setTimeout('window.stringTimerRan = true', 0);
      return {
        wasm: await outcome(() => WebAssembly.compile(emptyWasmModule)),
        otherHost: await outcome(() => fetch('http://127.0.0.2:9/')),
      };
    });
    expect(refused).toEqual({ wasm: 'CompileError', otherHost: 'TypeError' });
    await expect
      .poll(violations)
      .toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^script-src blocked eval/),
          expect.stringMatching(/^script-src blocked wasm-eval/),
          expect.stringMatching(/^connect-src blocked http:\/\/127\.0\.0\.2:9/),
        ]),
      );
    expect(await page.evaluate(() => (window as unknown as { stringTimerRan: boolean }).stringTimerRan)).toBe(false);
    await page.close();
  }, 120_000);
});
