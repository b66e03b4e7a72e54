/**
 * The AudioWorklet processor of the microphone (runs on the audio thread, loaded with `audioWorklet.addModule`):
 * downsamples the first input channel from the context rate to the agent's rate and posts Int16 frames with their
 * RMS level. Vite bundles it as a separate asset (`?worker&url` in micCapture.dom.ts), since a worklet is its own module.
 */
import {
  MIC_CAPTURE_PROCESSOR,
  MicFrameBuilder,
  StreamingDownsampler,
  type MicCaptureMessage,
  type MicCaptureProcessorOptions,
} from './micSignal.js';

// The AudioWorkletGlobalScope is not part of TypeScript's DOM lib.
declare const sampleRate: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
  constructor(options?: { processorOptions?: unknown });
}
declare function registerProcessor(name: string, processor: new (options: { processorOptions?: unknown }) => AudioWorkletProcessor): void;

class MicCaptureProcessor extends AudioWorkletProcessor {
  private readonly downsampler: StreamingDownsampler;
  private readonly frames: MicFrameBuilder;

  constructor(options: { processorOptions?: unknown }) {
    super(options);
    const { outputRate, frameSamples } = options.processorOptions as MicCaptureProcessorOptions;
    this.downsampler = new StreamingDownsampler(sampleRate, outputRate);
    this.frames = new MicFrameBuilder(frameSamples);
  }

  process(inputs: Float32Array[][]): boolean {
    const channel = inputs[0]?.[0];
    // No channel means the source has no data yet (or was disconnected); keep the processor alive.
    if (!channel) return true;
    for (const frame of this.frames.append(this.downsampler.push(channel))) {
      const message: MicCaptureMessage = { pcm: frame.pcm.buffer as ArrayBuffer, rms: frame.rms };
      this.port.postMessage(message, [message.pcm]);
    }
    return true;
  }
}

registerProcessor(MIC_CAPTURE_PROCESSOR, MicCaptureProcessor);
