import { vi } from 'vitest';
import type { AgentEvent } from '../../src-shared/contract/index.js';
import { silentLogger } from '../agent/agentLogger.js';
import { createAgent, type Agent } from '../app/createAgent.node.js';
import type { VoiceSession } from '../voice/voiceSession.node.js';
import { tempDataDir } from './agentTestSupport.js';
import { scriptedLlmFactories, type ScriptedLlm } from './scriptedLlm.js';
import { scriptedVoiceEngines, type ScriptedVoiceEngines } from './scriptedVoiceEngines.js';

/** The real agent and voice session with scripted engines, hands-free (or as `mode` says), in a new conversation. */
export interface ScriptedVoiceAgent {
  agent: Agent;
  voice: VoiceSession;
  engines: ScriptedVoiceEngines;
  llm: ScriptedLlm;
  /** Every event the agent emitted, in order. */
  events: AgentEvent[];
}

export async function startScriptedVoiceAgent(options: {
  transcripts: string[];
  llm: ScriptedLlm;
  mode?: 'push-to-talk' | 'hands-free';
  guards?: boolean;
  voice?: string;
}): Promise<ScriptedVoiceAgent> {
  const engines = scriptedVoiceEngines({ transcripts: options.transcripts });
  const agent = createAgent({
    config: {
      dataDir: tempDataDir(),
      llm: { provider: 'embedded' },
      voice: { enabled: true, partialTranscriptMs: 0 },
      ...(options.guards !== undefined && { guards: { enabled: options.guards } }),
    },
    llmFactories: scriptedLlmFactories(options.llm),
    voiceEngines: engines,
    logger: silentLogger,
  });
  const events: AgentEvent[] = [];
  agent.listen((event) => events.push(event));
  try {
    await agent.whenReady();
    const voice = agent.voice!;
    await voice.whenLoaded();
    await voice.configure({ mode: options.mode ?? 'hands-free', conversationId: null, ...(options.voice !== undefined && { voice: options.voice }) });
    return { agent, voice, engines, llm: options.llm, events };
  } catch (error) {
    await agent.close();
    throw error;
  }
}

export function ofType<T extends AgentEvent['type']>(events: readonly AgentEvent[], type: T): Array<Extract<AgentEvent, { type: T }>> {
  return events.filter((e): e is Extract<AgentEvent, { type: T }> => e.type === type);
}

/** The first event of `type` that matches, once it has arrived (5 s deadline). */
export function arrival<T extends AgentEvent['type']>(
  events: readonly AgentEvent[],
  type: T,
  matches: (event: Extract<AgentEvent, { type: T }>) => boolean = () => true,
): Promise<Extract<AgentEvent, { type: T }>> {
  return vi.waitFor(
    () => {
      const found = ofType(events, type).find(matches);
      if (!found) throw new Error(`No ${type} event yet.`);
      return found;
    },
    { timeout: 5_000, interval: 1 },
  );
}
