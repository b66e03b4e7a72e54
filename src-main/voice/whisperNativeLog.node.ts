import { addNativeLogListener, toggleNativeLog } from '@fugood/whisper.node';

/** whisper.cpp contexts (Whisper or VAD) open in this process; the log is routed while there is one. */
let openContexts = 0;
let debugListenerAdded = false;

/**
 * whisper.cpp prints dozens of lines per VAD hop to stderr unless its log is routed to a callback. The binding's
 * callback is a thread-safe function that keeps Node's event loop alive, so the log is routed only while a context is
 * open: call this before creating one, and the returned function once it is released (or failed to load).
 * ASSISTANT_DEBUG_WHISPER=1 forwards the log to stderr again for debugging.
 */
export async function routeWhisperNativeLog(): Promise<() => Promise<void>> {
  if (process.env.ASSISTANT_DEBUG_WHISPER === '1' && !debugListenerAdded) {
    addNativeLogListener((_level, text) => process.stderr.write(text));
    debugListenerAdded = true;
  }
  openContexts++;
  if (openContexts === 1) await toggleNativeLog(true);
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    openContexts--;
    if (openContexts === 0) await toggleNativeLog(false);
  };
}
