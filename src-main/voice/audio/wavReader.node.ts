import { readFile } from 'node:fs/promises';
import { AgentError } from '../../../src-shared/contract/index.js';
import { resampleWindowedSinc } from './resampler.js';

/** The only format the voice pipeline consumes: 16 kHz mono signed 16-bit PCM. */
export const PIPELINE_SAMPLE_RATE = 16_000;

export interface PcmAudio {
  sampleRate: typeof PIPELINE_SAMPLE_RATE;
  samples: Int16Array;
  durationMs: number;
}

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

interface WavFormat {
  encoding: 'pcm' | 'float';
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  blockAlign: number;
}

/** Reads a WAV file and converts it to the pipeline format. Every failure is a BAD_AUDIO naming the file. */
export async function readWavFile(filePath: string): Promise<PcmAudio> {
  let bytes: Buffer;
  try {
    bytes = await readFile(filePath);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : (error as Error).message;
    throw new AgentError('BAD_AUDIO', `Cannot read the audio file ${filePath}: ${reason}.`);
  }
  return decodeWav(bytes, filePath);
}

/**
 * Parses a RIFF/WAVE buffer (PCM 8/16/24/32-bit, IEEE float 32/64-bit, plain or WAVE_FORMAT_EXTENSIBLE,
 * any channel count; unknown chunks such as LIST are skipped), downmixes to mono by averaging the channels
 * and resamples to 16 kHz with a windowed-sinc filter. `source` names the file in error messages.
 */
export function decodeWav(bytes: Uint8Array, source: string): PcmAudio {
  const fail = (problem: string): never => {
    throw new AgentError('BAD_AUDIO', `${source} is not a usable WAV file: ${problem}.`);
  };
  if (bytes.length === 0) fail('the file is empty');
  if (bytes.length < 12) fail(`it is only ${bytes.length} bytes long, too short for a WAV header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (offset: number) => String.fromCharCode(bytes[offset]!, bytes[offset + 1]!, bytes[offset + 2]!, bytes[offset + 3]!);
  if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE') fail('it has no RIFF/WAVE header (only WAV audio is supported)');

  let format: WavFormat | undefined;
  let data: Uint8Array | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const chunkId = tag(offset);
    const declaredSize = view.getUint32(offset + 4, true);
    const bodyStart = offset + 8;
    const available = bytes.length - bodyStart;
    if (chunkId === 'fmt ') {
      if (declaredSize < 16 || available < 16) fail('its "fmt " chunk is truncated');
      format = parseFormatChunk(view, bodyStart, declaredSize, fail);
    } else if (chunkId === 'data') {
      // Streaming writers leave the size as 0 or 0xFFFFFFFF; a short file is truncated: keep what is there.
      const size = declaredSize === 0 || declaredSize === 0xffffffff ? available : Math.min(declaredSize, available);
      data = bytes.subarray(bodyStart, bodyStart + size);
      if (format) break;
    }
    offset = bodyStart + declaredSize + (declaredSize % 2); // chunks are word-aligned
  }
  if (!format) return fail('it has no "fmt " chunk');
  if (!data) return fail('it has no "data" chunk (the file may be truncated)');
  const frameCount = Math.floor(data.length / format.blockAlign);
  if (frameCount === 0) fail('it contains no audio samples');

  const mono = downmixToMono(data, format, frameCount);
  const resampled = format.sampleRate === PIPELINE_SAMPLE_RATE ? mono : resampleWindowedSinc(mono, format.sampleRate, PIPELINE_SAMPLE_RATE);
  const samples = floatToInt16(resampled);
  return { sampleRate: PIPELINE_SAMPLE_RATE, samples, durationMs: (samples.length / PIPELINE_SAMPLE_RATE) * 1000 };
}

function parseFormatChunk(view: DataView, start: number, size: number, fail: (problem: string) => never): WavFormat {
  let formatTag = view.getUint16(start, true);
  const channels = view.getUint16(start + 2, true);
  const sampleRate = view.getUint32(start + 4, true);
  const blockAlign = view.getUint16(start + 12, true);
  const bitsPerSample = view.getUint16(start + 14, true);
  if (formatTag === WAVE_FORMAT_EXTENSIBLE) {
    if (size < 40 || view.byteLength < start + 26) fail('its WAVE_FORMAT_EXTENSIBLE "fmt " chunk is truncated');
    formatTag = view.getUint16(start + 24, true); // first two bytes of the sub-format GUID
  }
  if (channels === 0) fail('its header says it has 0 channels');
  if (sampleRate < 1000 || sampleRate > 384_000) fail(`its sample rate ${sampleRate} Hz is not plausible`);
  const bytesPerSample = bitsPerSample / 8;
  let encoding: WavFormat['encoding'];
  if (formatTag === WAVE_FORMAT_PCM && [1, 2, 3, 4].includes(bytesPerSample)) encoding = 'pcm';
  else if (formatTag === WAVE_FORMAT_IEEE_FLOAT && (bitsPerSample === 32 || bitsPerSample === 64)) encoding = 'float';
  else {
    return fail(
      `its encoding (format tag 0x${formatTag.toString(16)}, ${bitsPerSample}-bit) is not supported; ` +
        'use PCM 8/16/24/32-bit or 32/64-bit float, e.g. `sox in.wav -b 16 out.wav`',
    );
  }
  if (blockAlign !== channels * bytesPerSample) fail(`its block size ${blockAlign} does not match ${channels} channel(s) of ${bitsPerSample}-bit samples`);
  return { encoding, channels, sampleRate, bitsPerSample, blockAlign };
}

/** Averages all channels into one float channel in [-1, 1]. */
function downmixToMono(data: Uint8Array, format: WavFormat, frameCount: number): Float32Array {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const bytesPerSample = format.bitsPerSample / 8;
  const readSample = sampleReader(view, format);
  const mono = new Float32Array(frameCount);
  for (let frame = 0; frame < frameCount; frame++) {
    let sum = 0;
    const frameStart = frame * format.blockAlign;
    for (let channel = 0; channel < format.channels; channel++) sum += readSample(frameStart + channel * bytesPerSample);
    mono[frame] = sum / format.channels;
  }
  return mono;
}

function sampleReader(view: DataView, format: WavFormat): (byteOffset: number) => number {
  if (format.encoding === 'float') {
    return format.bitsPerSample === 32 ? (at) => view.getFloat32(at, true) : (at) => view.getFloat64(at, true);
  }
  switch (format.bitsPerSample) {
    case 8:
      return (at) => (view.getUint8(at) - 128) / 128; // 8-bit WAV is unsigned
    case 16:
      return (at) => view.getInt16(at, true) / 32768;
    case 24:
      return (at) => ((view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getInt8(at + 2) << 16)) / 8388608);
    default:
      return (at) => view.getInt32(at, true) / 2147483648;
  }
}

function floatToInt16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const value = Math.round(samples[i]! * 32768);
    out[i] = value > 32767 ? 32767 : value < -32768 ? -32768 : value;
  }
  return out;
}
