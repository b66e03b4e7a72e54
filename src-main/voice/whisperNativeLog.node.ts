import { addNativeLogListener, toggleNativeLog } from '@fugood/whisper.node';

let routed: Promise<void> | undefined;

/**
 * whisper.cpp prints dozens of lines per VAD hop to stderr unless its log is routed to a callback. Route it here
 * once per process; ASSISTANT_DEBUG_WHISPER=1 forwards it to stderr again for debugging.
 */
export function routeWhisperNativeLog(): Promise<void> {
  routed ??= (async () => {
    if (process.env.ASSISTANT_DEBUG_WHISPER === '1') addNativeLogListener((_level, text) => process.stderr.write(text));
    await toggleNativeLog(true);
  })();
  return routed;
}
