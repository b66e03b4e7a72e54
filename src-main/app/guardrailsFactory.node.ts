import type { AgentEvent, GuardSettings } from '../../src-shared/contract/index.js';
import type { AgentLogger } from '../agent/agentLogger.js';
import type { Embedder } from '../documents/embedder.js';
import { UseLiteEmbedder } from '../documents/useLiteEmbedder.node.js';
import { createAbuseGuard } from '../guards/abuseGuard.js';
import { Guardrails } from '../guards/guardrails.js';
import { InjectionGuard, type InjectionEmbedder } from '../guards/injectionGuard.js';
import { createLengthGuard } from '../guards/lengthGuard.js';
import { createPiiGuard, redactPii } from '../guards/piiGuard.js';
import { WorkerInjectionScanner } from '../guards/workerInjectionScanner.node.js';

/**
 * The guardrails with the app's guards: format and length, PII, prompt injection (heuristics plus the similarity of the
 * question to known attacks, with the documents' embedder so retrieval and the check share one vector), and abuse.
 */
export function createGuardrails(options: {
  /** Read at every check: a change in the app applies to the next question. */
  settings: () => GuardSettings;
  /** The documents' embedder, when documents are on; otherwise the check starts its own USE-lite when first needed. */
  embedder: () => Embedder | undefined;
  maxQuestionChars: number;
  emit: (event: AgentEvent) => void;
  logger: AgentLogger;
}): { guardrails: Guardrails; warmUp(): Promise<void>; close(): Promise<void> } {
  let own: Embedder | undefined;
  const current = (): Embedder => options.embedder() ?? (own ??= new UseLiteEmbedder());
  // Resolved at each call: the documents library is opened after the guardrails are made.
  const embedder: InjectionEmbedder = {
    get id() {
      return current().id;
    },
    embed: (texts, signal) => current().embed(texts, signal),
  };
  // The heuristics run in a worker of their own, where their regular expressions stay compiled between questions.
  const scanner = new WorkerInjectionScanner();
  const injection = new InjectionGuard({ embedder, scanHeuristics: (text, signal) => scanner.scan(text, signal) });
  const guardrails = new Guardrails({
    guards: [createLengthGuard({ maxChars: options.maxQuestionChars }), createPiiGuard(), injection, createAbuseGuard()],
    settings: options.settings,
    redact: (text) => redactPii(text).text,
    emit: options.emit,
    logger: options.logger,
  });
  const stopWarming = new AbortController();
  return {
    guardrails,
    // The bank of attack phrasings is embedded in the background (cached on disk with the documents' embeddings); until
    // then the injection check decides on its patterns, without waiting.
    warmUp: async () => {
      await Promise.all([injection.warmUp(stopWarming.signal), scanner.warmUp(stopWarming.signal)]).catch(() => undefined);
    },
    close: async () => {
      stopWarming.abort();
      await Promise.all([own?.close(), scanner.close()]);
    },
  };
}
