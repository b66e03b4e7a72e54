import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveAgentConfig, type AgentConfigOverrides } from '../agent/agentConfig.node.js';
import { createAgent, realLlmFactories } from '../app/createAgent.node.js';
import { realVoiceEngines } from '../voice/realVoiceEngines.node.js';
import { FliteSpeechSynthesizer } from '../voice/tts/fliteSpeechSynthesizer.node.js';
import { runVoiceFileTurn } from '../cli/voiceCommand.node.js';
import { concatSamples } from '../../src-shared/audio/sampleArrays.js';
import type { BenchRow } from './benchStats.js';
import { EngineTimingProbe, type EngineTimes } from './engineTimingProbe.node.js';

/** The fixed utterances, spoken by the built-in voice so every run hears exactly the same audio. */
export const BENCH_UTTERANCES = [
  'What is the weather like today',
  'Set a timer for ten minutes',
  'Tell me a story about a cat',
  'How far away is the moon',
];

/**
 * End of speech → first synthesized audio, with the stage breakdown, over `runs` voice turns. Also the orchestration
 * overhead: that time minus the engines' own compute (speech-to-text, the LLM's first token, synthesis of the first
 * sentence), timed by stopwatches around the real engines.
 */
export async function runVoiceTurnBench(options: {
  config: AgentConfigOverrides;
  runs: number;
  stt: 'auto' | 'whisper' | 'sphinx';
  log(line: string): void;
}): Promise<BenchRow[]> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'assistant-voice-bench-'));
  const synthesizer = new FliteSpeechSynthesizer();
  const overrides: AgentConfigOverrides = { ...options.config, dataDir: scratch, voice: { enabled: true, stt: options.stt } };
  const config = resolveAgentConfig(overrides);
  const probe = new EngineTimingProbe();
  const agent = createAgent({
    config: overrides,
    voiceEngines: probe.voiceEngines(realVoiceEngines(config)),
    llmFactories: probe.llmFactories(realLlmFactories(config)),
  });
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
    const overhead = { total: [] as number[], beforeStt: [] as number[], sttToLlm: [] as number[], firstSentence: [] as number[], restOfSentence: [] as number[], ttsToAudio: [] as number[] };
    let engine = '';
    for (let i = 0; i < options.runs; i++) {
      const times = probe.next();
      let firstAudioAt: number | undefined;
      // A new conversation each time and distinct wording avoids measuring cache hits.
      const turn = await runVoiceFileTurn(agent, utterances[i % utterances.length]!, (event) => {
        if (event.type === 'speech-audio') firstAudioAt ??= performance.now();
      });
      const o = orchestration(times, firstAudioAt);
      if (o) {
        overhead.total.push(o.total);
        overhead.beforeStt.push(o.beforeStt);
        overhead.sttToLlm.push(o.sttToLlm);
        overhead.firstSentence.push(o.firstSentence);
        overhead.restOfSentence.push(o.restOfSentence);
        overhead.ttsToAudio.push(o.ttsToAudio);
      }
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
      { name: 'voice: orchestration overhead (minus engines)', unit: 'ms', samples: overhead.total },
      { name: '  end of speech → STT starts', unit: 'ms', samples: overhead.beforeStt },
      { name: '  STT ends → LLM called', unit: 'ms', samples: overhead.sttToLlm },
      { name: '  LLM writes the rest of the 1st sentence', unit: 'ms', samples: overhead.restOfSentence },
      { name: '  sentence complete → TTS starts', unit: 'ms', samples: overhead.firstSentence },
      { name: '  TTS ends → audio event', unit: 'ms', samples: overhead.ttsToAudio },
    ];
  } finally {
    await agent.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * End of speech → first audio minus the engines' compute: STT, the LLM's first token (call → first token), and the
 * first sentence's synthesis. The LLM writing the rest of the first sentence counts as overhead, as the issue defines
 * it (speech waits for a whole sentence); its own row shows how much of the total it is.
 */
function orchestration(t: EngineTimes, firstAudioAt: number | undefined) {
  const { speechEndAt, sttStart, sttEnd, llmCallAt, llmFirstTokenAt, ttsStart, ttsEnd } = t;
  if (
    firstAudioAt === undefined ||
    speechEndAt === undefined ||
    sttStart === undefined ||
    sttEnd === undefined ||
    llmCallAt === undefined ||
    llmFirstTokenAt === undefined ||
    ttsStart === undefined ||
    ttsEnd === undefined
  ) {
    return undefined;
  }
  // The token that completed the first sentence: the last one before it went to synthesis.
  const sentenceTokenAt = t.tokenAt.filter((at) => at <= ttsStart).at(-1) ?? llmFirstTokenAt;
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return {
    total: round(firstAudioAt - speechEndAt - (sttEnd - sttStart) - (llmFirstTokenAt - llmCallAt) - (ttsEnd - ttsStart)),
    beforeStt: round(sttStart - speechEndAt),
    sttToLlm: round(llmCallAt - sttEnd),
    restOfSentence: round(sentenceTokenAt - llmFirstTokenAt),
    firstSentence: round(ttsStart - sentenceTokenAt),
    ttsToAudio: round(firstAudioAt - ttsEnd),
  };
}
