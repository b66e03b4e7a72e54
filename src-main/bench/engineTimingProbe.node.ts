import type { LlmProvider } from '../agent/llm/llmProvider.js';
import type { LlmProviderFactories } from '../agent/llm/llmProviderManager.node.js';
import type { VadEvent } from '../voice/vad/voiceActivityDetector.js';
import type { VoiceEngines } from '../voice/voiceEngines.js';

/** What the engines of one voice turn spent, as performance.now() times, seen from outside the voice session. */
export interface EngineTimes {
  /** The VAD reported the end of speech. */
  speechEndAt?: number;
  /** When the last word was said: the end of speech less the silence the VAD waited for (stream time as wall time). */
  lastWordAt?: number;
  sttStart?: number;
  sttEnd?: number;
  llmCallAt?: number;
  llmFirstTokenAt?: number;
  /** Every token's arrival, to find the one that completed the first sentence. */
  tokenAt: number[];
  /** How long the pipeline took to take in each token (the model waits for it before the next one). */
  tokenHandlingMs: number[];
  ttsStart?: number;
  ttsEnd?: number;
}

/**
 * Wraps the real engines (VAD, recogniser, LLM, voice) with stopwatches, so the bench can subtract the engines' own
 * compute from end of speech → first audio and what is left is the orchestration between them. The probe measures
 * from the outside and needs nothing from the code it measures.
 */
export class EngineTimingProbe {
  current: EngineTimes = { tokenAt: [], tokenHandlingMs: [] };

  /** Starts a new turn's record. */
  next(): EngineTimes {
    this.current = { tokenAt: [], tokenHandlingMs: [] };
    return this.current;
  }

  voiceEngines(engines: VoiceEngines): VoiceEngines {
    const probe = this;
    const synthesizer = engines.synthesizer;
    return {
      async loadVad(turnTaking) {
        const vad = await engines.loadVad(turnTaking);
        let streamSamples = 0;
        const noteEnd = (events: VadEvent[]): VadEvent[] => {
          const end = events.find((event) => event.type === 'speech-end');
          if (end && probe.current.speechEndAt === undefined) {
            const now = performance.now();
            probe.current.speechEndAt = now;
            // Frames arrive in real time in the bench, so stream time since the last word is wall time.
            probe.current.lastWordAt = now - (streamSamples / 16 - end.atMs);
          }
          return events;
        };
        return {
          push: (frame) => {
            streamSamples += frame.length;
            return vad.push(frame).then(noteEnd);
          },
          flush: () => vad.flush().then(noteEnd),
          reset: () => {
            streamSamples = 0;
            vad.reset();
          },
          dispose: () => vad.dispose(),
          ...(vad.setEndSilenceMs && { setEndSilenceMs: (ms: number) => vad.setEndSilenceMs!(ms) }),
        };
      },
      createTranscriber() {
        const transcriber = engines.createTranscriber();
        return {
          engine: transcriber.engine,
          load: () => transcriber.load(),
          dispose: () => transcriber.dispose(),
          stream() {
            const stream = transcriber.stream();
            return {
              push: (frame) => stream.push(frame),
              partial: () => stream.partial(),
              onPartial: (listener) => stream.onPartial(listener),
              cancel: () => stream.cancel(),
              // Speech-to-text after the end of speech: what is left to recognise once the utterance is over.
              async finish(options) {
                const times = probe.current;
                times.sttStart = performance.now();
                try {
                  return await stream.finish(options);
                } finally {
                  times.sttEnd = performance.now();
                }
              },
            };
          },
        };
      },
      synthesizer: {
        get voices() {
          return synthesizer.voices;
        },
        ...(synthesizer.warmUp && { warmUp: () => synthesizer.warmUp!() }),
        ...(synthesizer.dispose && { dispose: () => synthesizer.dispose!() }),
        async synthesize(text, options) {
          const times = probe.current;
          const first = times.ttsStart === undefined;
          if (first) times.ttsStart = performance.now();
          const audio = await synthesizer.synthesize(text, options);
          if (first) times.ttsEnd = performance.now();
          return audio;
        },
      },
    };
  }

  llmFactories(factories: LlmProviderFactories): LlmProviderFactories {
    const timed = (provider: LlmProvider): LlmProvider => {
      const probe = this;
      return {
        get kind() {
          return provider.kind;
        },
        get modelId() {
          return provider.modelId;
        },
        get modelFile() {
          return provider.modelFile;
        },
        get contextTokens() {
          return provider.contextTokens;
        },
        load: () => provider.load(),
        ...(provider.prefill && { prefill: (request) => provider.prefill!(request) }),
        countTokens: (text) => provider.countTokens(text),
        dispose: () => provider.dispose(),
        generate(request) {
          const times = probe.current;
          times.llmCallAt = performance.now();
          return provider.generate({
            ...request,
            onToken: (text) => {
              const at = performance.now();
              times.llmFirstTokenAt ??= at;
              times.tokenAt.push(at);
              request.onToken(text);
              times.tokenHandlingMs.push(performance.now() - at);
            },
          });
        },
      };
    };
    return {
      createEmbedded: () => timed(factories.createEmbedded()),
      createOllama: () => timed(factories.createOllama()),
      probeOllama: () => factories.probeOllama(),
    };
  }
}
