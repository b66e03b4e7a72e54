import { describe, expect, it } from 'vitest';
import { DEFAULT_VOICE_SETTINGS, type VoiceStatus } from '../../src-shared/contract/index.js';
import { shouldSendMicFrames } from './voiceStore.dom.js';

const status = { settings: DEFAULT_VOICE_SETTINGS } as VoiceStatus;
const pushToTalk = { ...DEFAULT_VOICE_SETTINGS, mode: 'push-to-talk' as const };
const handsFree = { ...DEFAULT_VOICE_SETTINGS, mode: 'hands-free' as const };

describe('shouldSendMicFrames', () => {
  it('push-to-talk: sends only while the key is held here or the agent is listening (the global hotkey)', () => {
    expect(shouldSendMicFrames({ status, settings: pushToTalk, talkHeld: false, voiceState: 'idle' })).toBe(false);
    expect(shouldSendMicFrames({ status, settings: pushToTalk, talkHeld: false, voiceState: 'speaking' })).toBe(false);
    expect(shouldSendMicFrames({ status, settings: pushToTalk, talkHeld: true, voiceState: 'speaking' })).toBe(true);
    expect(shouldSendMicFrames({ status, settings: pushToTalk, talkHeld: false, voiceState: 'listening' })).toBe(true);
  });

  it('hands-free: sends all the time unless muted', () => {
    expect(shouldSendMicFrames({ status, settings: handsFree, talkHeld: false, voiceState: 'idle' })).toBe(true);
    expect(shouldSendMicFrames({ status, settings: handsFree, talkHeld: false, voiceState: 'speaking' })).toBe(true);
    expect(shouldSendMicFrames({ status, settings: { ...handsFree, muted: true }, talkHeld: false, voiceState: 'listening' })).toBe(false);
  });

  it('sends nothing while muted or before the agent has said voice is available', () => {
    expect(shouldSendMicFrames({ status, settings: { ...pushToTalk, muted: true }, talkHeld: true, voiceState: 'listening' })).toBe(false);
    expect(shouldSendMicFrames({ status: null, settings: handsFree, talkHeld: true, voiceState: 'listening' })).toBe(false);
  });
});
