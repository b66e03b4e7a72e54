import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveAgentConfig, type AgentConfig, type AgentConfigOverrides } from '../agent/agentConfig.node.js';
import { createAgent, realLlmFactories } from '../app/createAgent.node.js';
import { realVoiceEngines } from '../voice/realVoiceEngines.node.js';
import { FliteSpeechSynthesizer } from '../voice/tts/fliteSpeechSynthesizer.node.js';
import { runVoiceFileTurn } from '../cli/voiceCommand.node.js';
import { concatSamples } from '../../src-shared/audio/sampleArrays.js';
import { transcribeWhole, type SpeechTranscriber } from '../voice/stt/speechTranscriber.js';
import { SphinxTranscriber } from '../voice/stt/sphinxTranscriber.node.js';
import { percentile, type BenchRow } from './benchStats.js';
import { EngineTimingProbe, type EngineTimes } from './engineTimingProbe.node.js';

/**
 * The fixed utterances, spoken by the built-in voice so every run hears exactly the same audio. Each is asked in a new
 * conversation, so a run beyond the list's length asks again and is answered from the cache.
 */
export const BENCH_UTTERANCES = [
  'What is the weather like today',
  'Set a timer for ten minutes',
  'Tell me a story about a cat',
  'How far away is the moon',
  'What time is it in London',
  'Play some music for me',
  'Why is the sky blue',
  'What is the capital of France',
  'Remind me to call my mother',
  'How do I make a cup of tea',
];

/** What speculation did over the bench's turns with it on. */
export interface SpeculationSummary {
  /** Turns whose answer was prepared during the user's pause. */
  prepared: number;
  /** Of them, kept because the final words matched. */
  kept: number;
  /** kept / prepared. */
  hitRate: number;
  /** p50 end of speech → first audio with speculation off, minus with it on (the same utterances, in the same run). */
  savedMsP50: number;
}

export const VOICE_TOTAL = 'voice: end of speech → first audio';
export const STT_STREAMING = '  speech-to-text after end of speech (streaming)';
export const STT_WHOLE = '  speech-to-text after end of speech (whole utterance)';

/**
 * End of speech → first synthesized audio, with the stage breakdown, over `runs` voice turns, the utterances spoken
 * in real time (recognition runs while they are spoken, as with a microphone). Measured in the same run:
 * - the same utterances with speculation off, by a second agent, turn about;
 * - whole-utterance recognition of the same audio after it has ended, by the same engine, loaded;
 * - the orchestration overhead: the time minus the engines' own compute (speech-to-text, the LLM's first token,
 *   synthesis of the first audio), timed by stopwatches around the real engines.
 */
export async function runVoiceTurnBench(options: {
  config: AgentConfigOverrides;
  runs: number;
  stt: 'auto' | 'whisper' | 'sphinx';
  log(line: string): void;
}): Promise<{ rows: BenchRow[]; speculation: SpeculationSummary }> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'assistant-voice-bench-'));
  const synthesizer = new FliteSpeechSynthesizer();
  const overrides = (dir: string): AgentConfigOverrides => ({ ...options.config, dataDir: path.join(scratch, dir), voice: { enabled: true, stt: options.stt } });
  const config = resolveAgentConfig(overrides('on'));
  const probe = new EngineTimingProbe();
  const agent = createAgent({
    config: overrides('on'),
    voiceEngines: probe.voiceEngines(realVoiceEngines(config)),
    llmFactories: probe.llmFactories(realLlmFactories(config)),
  });
  const withoutSpeculation = createAgent({ config: overrides('off') });
  try {
    await Promise.all([agent.whenReady(), withoutSpeculation.whenReady()]);
    await withoutSpeculation.voice?.whenLoaded();
    await withoutSpeculation.voice?.configure({ speculativeTurns: false });
    const utterances: Int16Array[] = [];
    for (const text of BENCH_UTTERANCES) {
      const speech = await synthesizer.synthesize(text, { voice: 'awb' });
      utterances.push(concatSamples(Int16Array, [new Int16Array(8000), speech.samples]));
    }
    const rows = {
      lastWord: [] as number[],
      transcript: [] as number[],
      prepared: [] as number[],
      preparedOff: [] as number[],
      firstToken: [] as number[],
      firstSentence: [] as number[],
      firstAudio: [] as number[],
      totalOff: [] as number[],
    };
    const totals: number[] = [];
    const generated: Orchestration[] = [];
    const cached: Orchestration[] = [];
    const speculation = { prepared: 0, kept: 0 };
    let engine = '';
    for (let i = 0; i < options.runs; i++) {
      const utterance = utterances[i % utterances.length]!;
      const times = probe.next();
      let firstAudioAt: number | undefined;
      const turn = await runVoiceFileTurn(
        agent,
        utterance,
        (event) => {
          if (event.type === 'speech-audio') firstAudioAt ??= performance.now();
        },
        { realTime: true },
      );
      engine = agent.voice?.getStatus().stt.engine ?? '';
      const w = turn.waterfall;
      if (!w || w.firstAudioMs === null) {
        options.log(`voice run ${i}: no spoken answer (${turn.transcript ? `heard "${turn.transcript}"` : 'nothing heard'})`);
        continue;
      }
      if (w.speculation !== 'none') speculation.prepared++;
      if (w.speculation === 'adopted') speculation.kept++;
      const overhead = orchestration(times, firstAudioAt);
      if (overhead) (turn.done?.cached ? cached : generated).push(overhead);
      if (times.lastWordAt !== undefined && times.speechEndAt !== undefined) rows.lastWord.push(times.speechEndAt - times.lastWordAt + w.firstAudioMs);
      rows.transcript.push(w.transcriptMs);
      if (w.preparedMs !== null && w.preparedMs !== undefined) rows.prepared.push(w.preparedMs);
      if (w.firstTokenMs !== null) rows.firstToken.push(w.firstTokenMs - w.transcriptMs);
      if (w.firstSentenceMs !== null && w.firstTokenMs !== null) rows.firstSentence.push(w.firstSentenceMs - w.firstTokenMs);
      if (w.firstTokenMs !== null) rows.firstAudio.push(w.firstAudioMs - w.firstTokenMs);
      totals.push(w.firstAudioMs);

      const off = await runVoiceFileTurn(withoutSpeculation, utterance, () => undefined, { realTime: true });
      if (off.waterfall?.firstAudioMs !== null && off.waterfall?.firstAudioMs !== undefined) rows.totalOff.push(off.waterfall.firstAudioMs);
      if (off.waterfall?.preparedMs !== null && off.waterfall?.preparedMs !== undefined) rows.preparedOff.push(off.waterfall.preparedMs);
    }
    const whole = await wholeUtteranceStt(config, utterances.slice(0, Math.min(options.runs, utterances.length)));
    const part = (of: Orchestration[], key: keyof Orchestration) => of.map((o) => o[key]);
    const p50 = (values: number[]) => percentile(values, 50);
    return {
      speculation: {
        ...speculation,
        hitRate: speculation.prepared === 0 ? 0 : speculation.kept / speculation.prepared,
        savedMsP50: p50(rows.totalOff) - p50(totals),
      },
      rows: [
        { name: `${VOICE_TOTAL} (${engine})`, unit: 'ms', samples: totals },
        { name: '  the same, speculation off', unit: 'ms', samples: rows.totalOff },
        { name: '  last word → first audio (end-of-turn silence too)', unit: 'ms', samples: rows.lastWord },
        { name: STT_STREAMING, unit: 'ms', samples: rows.transcript },
        { name: STT_WHOLE, unit: 'ms', samples: whole.loaded },
        ...(whole.perProcess.length > 0
          ? [{ name: '  speech-to-text, a pocketsphinx process per utterance', unit: 'ms', samples: whole.perProcess }]
          : []),
        { name: '  answer prepared (from end of speech; < 0: before)', unit: 'ms', samples: rows.prepared },
        { name: '  answer prepared, speculation off', unit: 'ms', samples: rows.preparedOff },
        { name: '  transcript → first token', unit: 'ms', samples: rows.firstToken },
        { name: '  first token → first complete sentence', unit: 'ms', samples: rows.firstSentence },
        { name: '  first token → first audio (1st clause or sentence)', unit: 'ms', samples: rows.firstAudio },
        { name: 'voice orchestration overhead (generated)', unit: 'ms', samples: part(generated, 'total') },
        { name: '  of it, the LLM writing the 1st sentence', unit: 'ms', samples: part(generated, 'llmSentence') },
        { name: '  without it (no engine time at all)', unit: 'ms', samples: part(generated, 'orchestrationOnly') },
        { name: '    end of speech → STT starts', unit: 'ms', samples: part(generated, 'beforeStt') },
        { name: '    STT ends → LLM called', unit: 'ms', samples: part(generated, 'sttToAnswer') },
        { name: '    taking in the 1st sentence\'s tokens', unit: 'ms', samples: part(generated, 'tokenHandling') },
        { name: '    1st clause complete → TTS starts', unit: 'ms', samples: part(generated, 'sentenceToTts') },
        { name: '    TTS ends → audio event', unit: 'ms', samples: part(generated, 'ttsToAudio') },
        { name: 'voice orchestration overhead (cached answer)', unit: 'ms', samples: part(cached, 'total') },
      ],
    };
  } finally {
    await Promise.all([agent.close(), withoutSpeculation.close()]);
    await synthesizer.dispose();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Recognition of each whole utterance after it has ended, as before streaming: by the same engine, loaded and warm,
 * and (PocketSphinx) by a `pocketsphinx_continuous` process per utterance, which also loads its model each time.
 */
async function wholeUtteranceStt(config: AgentConfig, utterances: Int16Array[]): Promise<{ loaded: number[]; perProcess: number[] }> {
  const time = async (transcriber: SpeechTranscriber) => {
    const samples: number[] = [];
    try {
      await transcriber.load();
      for (const audio of utterances) {
        const started = performance.now();
        await transcribeWhole(transcriber, audio);
        samples.push(performance.now() - started);
      }
    } finally {
      await transcriber.dispose();
    }
    return samples;
  };
  const transcriber = realVoiceEngines(config).createTranscriber();
  const loaded = await time(transcriber);
  const perProcess = transcriber.engine === 'sphinx' ? await time(new SphinxTranscriber({ helperPath: path.join(os.tmpdir(), 'no-streaming-decoder') })) : [];
  return { loaded, perProcess };
}

interface Orchestration {
  /** End of speech → first audio, minus STT, the LLM's first token and the first sentence's synthesis. */
  total: number;
  /** The LLM's own compute from its first token to the token that completed the first sentence. */
  llmSentence: number;
  /** `total` without `llmSentence`: the time no engine was working. */
  orchestrationOnly: number;
  beforeStt: number;
  /** STT ends → the LLM is called (or, for a cached answer, the first sentence goes to synthesis). */
  sttToAnswer: number;
  /** The pipeline taking in the first sentence's tokens (splitter, checks, events), which the model waits for. */
  tokenHandling: number;
  sentenceToTts: number;
  ttsToAudio: number;
}

/**
 * End of speech → first audio minus the engines' compute, as issue 7 defines it: STT, the LLM's first token (call →
 * first token; none for a cached answer) and the first sentence's synthesis. Speech waits for a whole sentence, so
 * the LLM writing the rest of the first sentence is in that figure; `llmSentence` says how much of it that is, and
 * `orchestrationOnly` is what is left when it is taken out too.
 */
function orchestration(t: EngineTimes, firstAudioAt: number | undefined): Orchestration | undefined {
  const { speechEndAt, sttStart, sttEnd, llmCallAt, llmFirstTokenAt, ttsStart, ttsEnd } = t;
  if (firstAudioAt === undefined || speechEndAt === undefined || sttStart === undefined || sttEnd === undefined) return undefined;
  if (ttsStart === undefined || ttsEnd === undefined) return undefined;
  const round = (ms: number) => Math.round(ms * 100) / 100;
  const llmFirstTokenMs = llmCallAt !== undefined && llmFirstTokenAt !== undefined ? llmFirstTokenAt - llmCallAt : 0;
  // The tokens of the first sentence: those that arrived before it went to synthesis.
  const sentenceTokens = t.tokenAt.filter((at) => at <= ttsStart).length;
  let tokenHandling = 0;
  let llmSentence = 0;
  for (let i = 0; i < sentenceTokens; i++) {
    tokenHandling += t.tokenHandlingMs[i] ?? 0;
    if (i > 0) llmSentence += t.tokenAt[i]! - t.tokenAt[i - 1]! - (t.tokenHandlingMs[i - 1] ?? 0);
  }
  const lastTokenDone = sentenceTokens > 0 ? t.tokenAt[sentenceTokens - 1]! + (t.tokenHandlingMs[sentenceTokens - 1] ?? 0) : undefined;
  const total = firstAudioAt - speechEndAt - (sttEnd - sttStart) - llmFirstTokenMs - (ttsEnd - ttsStart);
  return {
    total: round(total),
    llmSentence: round(llmSentence),
    orchestrationOnly: round(total - llmSentence),
    beforeStt: round(sttStart - speechEndAt),
    sttToAnswer: round((llmCallAt ?? ttsStart) - sttEnd),
    tokenHandling: round(tokenHandling),
    sentenceToTts: round(lastTokenDone === undefined ? 0 : ttsStart - lastTokenDone),
    ttsToAudio: round(firstAudioAt - ttsEnd),
  };
}
