import { MIC_SAMPLE_RATE } from '../../src-shared/contract/index.js';
import { MIC_CAPTURE_PROCESSOR, type MicCaptureMessage, type MicCaptureProcessorOptions } from './micSignal.js';
import micCaptureProcessorUrl from './micCaptureProcessor.worklet.ts?worker&url';

/** 30 ms frames: short enough for a responsive VAD, few enough messages (33 a second). */
const FRAME_SAMPLES = (MIC_SAMPLE_RATE * 30) / 1000;

export interface MicCaptureHandlers {
  /** One frame of 16 kHz mono Int16 PCM, about every 30 ms, whether or not anything is sent. */
  onFrame(pcm: Int16Array, rms: number): void;
  /** The device went away (unplugged, or permission revoked) after capture started. */
  onEnded(reason: string): void;
}

export interface MicCapture {
  stop(): void;
}

/** Why the microphone cannot be used, in words for the user. */
export class MicUnavailableError extends Error {
  override readonly name = 'MicUnavailableError';
}

/**
 * Opens the microphone with the browser's echo cancellation, noise suppression and gain control (echo cancellation
 * keeps the assistant's own voice out of hands-free listening) and streams it through the capture worklet.
 */
export async function startMicCapture(handlers: MicCaptureHandlers): Promise<MicCapture> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new MicUnavailableError('this page cannot use a microphone (it needs localhost, https or the desktop app)');
  }
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
    });
  } catch (error) {
    throw new MicUnavailableError(describeGetUserMediaError(error));
  }
  const context = new AudioContext();
  try {
    await context.audioWorklet.addModule(micCaptureProcessorUrl);
  } catch (error) {
    stopTracks(stream);
    void context.close();
    throw new MicUnavailableError(`the audio capture module did not load (${error instanceof Error ? error.message : String(error)})`);
  }
  const source = context.createMediaStreamSource(stream);
  const processorOptions: MicCaptureProcessorOptions = { outputRate: MIC_SAMPLE_RATE, frameSamples: FRAME_SAMPLES };
  // No outputs: the node is a sink, pulled by the audio thread without being connected to the speakers.
  const capture = new AudioWorkletNode(context, MIC_CAPTURE_PROCESSOR, {
    numberOfInputs: 1,
    numberOfOutputs: 0,
    channelCount: 1,
    channelCountMode: 'explicit',
    processorOptions,
  });
  capture.port.onmessage = (message: MessageEvent<MicCaptureMessage>) => handlers.onFrame(new Int16Array(message.data.pcm), message.data.rms);
  source.connect(capture);

  const resumeOnGesture = () => void context.resume();
  // Browsers may start an AudioContext suspended until the user interacts with the page.
  if (context.state === 'suspended') {
    window.addEventListener('pointerdown', resumeOnGesture, { once: true });
    window.addEventListener('keydown', resumeOnGesture, { once: true });
  }
  for (const track of stream.getAudioTracks()) {
    track.addEventListener('ended', () => handlers.onEnded('the microphone was disconnected or its permission was withdrawn'));
  }

  return {
    stop() {
      window.removeEventListener('pointerdown', resumeOnGesture);
      window.removeEventListener('keydown', resumeOnGesture);
      capture.port.onmessage = null;
      source.disconnect();
      stopTracks(stream);
      void context.close();
    },
  };
}

function stopTracks(stream: MediaStream): void {
  for (const track of stream.getTracks()) track.stop();
}

function describeGetUserMediaError(error: unknown): string {
  const name = error instanceof DOMException ? error.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'permission was denied. Allow microphone access for this page (and in the system settings), then reload';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'no microphone was found. Connect one, then reload';
    case 'NotReadableError':
    case 'AbortError':
      return 'the microphone is busy or blocked by the system. Close other apps using it, then reload';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
