import type { AgentEvent } from '../../src-shared/contract/index.js';
import type { AgentService } from '../agent/agentService.js';

/** Asks one question and resolves with every event of its turn, through `done`; rejects if it errs or is refused. */
export async function askForBench(agent: AgentService, text: string): Promise<AgentEvent[]> {
  const started = await agent.call('chat:send', { text });
  return new Promise<AgentEvent[]>((resolve, reject) => {
    const seen: AgentEvent[] = [];
    const stop = agent.listen((event) => {
      if (!('turnId' in event) || event.turnId !== started.turnId) return;
      seen.push(event);
      if (event.type === 'done') (stop(), resolve(seen));
      if (event.type === 'error') (stop(), reject(new Error(event.message)));
      if (event.type === 'blocked') (stop(), reject(new Error(`refused by the ${event.guard} guard: ${event.reason}`)));
    });
  });
}
