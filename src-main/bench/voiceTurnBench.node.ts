import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AgentConfigOverrides } from '../agent/agentConfig.node.js';
import { createAgent } from '../app/createAgent.node.js';
import { FliteSpeechSynthesizer } from '../voice/tts/fliteSpeechSynthesizer.node.js';
import { runVoiceFileTurn } from '../cli/voiceCommand.node.js';
import { concatSamples } from '../../src-shared/audio/sampleArrays.js';
import type { BenchRow } from './benchStats.js';

/** The fixed utterances, spoken by the built-in voice so every run hears exactly the same audio. */
export const BENCH_UTTERANCES = [
  'What is the weather like today',
  'Set a timer for ten minutes',
  'Tell me a story about a cat',
  'How far away is the moon',
];

/** End of speech → first synthesized audio, with the stage breakdown, over `runs` voice turns. */
export async function runVoiceTurnBench(options: {
  config: AgentConfigOverrides;
  runs: number;
  stt: 'auto' | 'whisper' | 'sphinx';
  log(line: string): void;
}): Promise<BenchRow[]> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'assistant-voice-bench-'));
  const synthesizer = new FliteSpeechSynthesizer();
  const agent = createAgent({ config: { ...options.config, dataDir: scratch, voice: { enabled: true, stt: options.stt } } });
  try {
    await agent.whenReady();
    const utterances: Int16Array[] = [];
    for (const text of BENCH_UTTERANCES) {
      const speech = await synthesizer.synthesize(text, { voice: 'awb' });
      utterances.push(concatSamples(Int16Array, [new Int16Array(8000), speech.samples]));
    }
    const rows = {
      transcript: [] as number[],
      firstToken: [] as number[],
      firstSentence: [] as number[],
      firstAudio: [] as number[],
    };
    const totals: number[] = [];
    let engine = '';
    for (let i = 0; i < options.runs; i++) {
      // A new conversation each time and distinct wording avoids measuring cache hits.
      const turn = await runVoiceFileTurn(agent, utterances[i % utterances.length]!);
      engine = agent.voice?.getStatus().stt.engine ?? '';
      const w = turn.waterfall;
      if (!w || w.firstAudioMs === null) {
        options.log(`voice run ${i}: no spoken answer (${turn.transcript ? `heard "${turn.transcript}"` : 'nothing heard'})`);
        continue;
      }
      rows.transcript.push(w.transcriptMs);
      if (w.firstTokenMs !== null) rows.firstToken.push(w.firstTokenMs - w.transcriptMs);
      if (w.firstSentenceMs !== null && w.firstTokenMs !== null) rows.firstSentence.push(w.firstSentenceMs - w.firstTokenMs);
      if (w.firstSentenceMs !== null) rows.firstAudio.push(w.firstAudioMs - w.firstSentenceMs);
      totals.push(w.firstAudioMs);
    }
    return [
      { name: `voice: end of speech → first audio (${engine})`, unit: 'ms', samples: totals },
      { name: '  speech-to-text (end of speech → transcript)', unit: 'ms', samples: rows.transcript },
      { name: '  transcript → first token', unit: 'ms', samples: rows.firstToken },
      { name: '  first token → first complete sentence', unit: 'ms', samples: rows.firstSentence },
      { name: '  first sentence → first audio (TTS)', unit: 'ms', samples: rows.firstAudio },
    ];
  } finally {
    await agent.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}
