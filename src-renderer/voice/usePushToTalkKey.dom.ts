import { useEffect } from 'react';

/** The push-to-talk key in the window (KeyboardEvent.code). */
export const PUSH_TO_TALK_KEY = 'Space';

/** Input types where Space types nothing, so push-to-talk still works while they have focus. */
const NON_TEXT_INPUT_TYPES = new Set(['button', 'checkbox', 'color', 'file', 'image', 'radio', 'range', 'reset', 'submit']);

function isTextEntry(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return target instanceof HTMLInputElement && !NON_TEXT_INPUT_TYPES.has(target.type);
}

/** Hold the key to talk, anywhere in the window except where it types text. Losing focus releases it. */
export function usePushToTalkKey(press: () => void, release: () => void): void {
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.code !== PUSH_TO_TALK_KEY || event.ctrlKey || event.altKey || event.metaKey || isTextEntry(event.target)) return;
      // Neither scroll the page nor activate a focused button.
      event.preventDefault();
      if (!event.repeat) press();
    };
    const onKeyUp = (event: KeyboardEvent) => {
      if (event.code !== PUSH_TO_TALK_KEY) return;
      if (!isTextEntry(event.target)) event.preventDefault();
      release();
    };
    window.addEventListener('keydown', onKeyDown);
    window.addEventListener('keyup', onKeyUp);
    window.addEventListener('blur', release);
    return () => {
      window.removeEventListener('keydown', onKeyDown);
      window.removeEventListener('keyup', onKeyUp);
      window.removeEventListener('blur', release);
    };
  }, [press, release]);
}
