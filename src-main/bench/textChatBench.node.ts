import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DoneEvent } from '../../src-shared/contract/index.js';
import { createAgent } from '../app/createAgent.node.js';
import type { AgentConfigOverrides } from '../agent/agentConfig.node.js';
import type { AgentService } from '../agent/agentService.js';
import type { BenchRow } from './benchStats.js';

export interface TextChatBenchOptions {
  config: AgentConfigOverrides;
  runs: number;
  log(line: string): void;
}

const QUESTIONS = [
  'Once upon a time there was a little robot',
  'What is the tallest mountain in the world',
  'Tell me about the moon',
  'How do plants grow',
  'Why is the sky blue',
  'Name three colours of the rainbow',
  'What do cats like to eat',
  'How far away is the sun',
  'What is a good name for a dog',
  'How do birds fly',
  'What makes a rainbow',
  'Where do fish sleep',
];

export async function askAndWait(agent: AgentService, text: string, conversationId?: string): Promise<DoneEvent> {
  const started = await agent.call('chat:send', conversationId ? { text, conversationId } : { text });
  return new Promise((resolve, reject) => {
    const stop = agent.listen((event) => {
      if (event.type === 'done' && event.turnId === started.turnId) {
        stop();
        resolve(event);
      } else if (event.type === 'error' && event.turnId === started.turnId) {
        stop();
        reject(new Error(event.message));
      }
    });
  });
}

/** Cold start: a fresh process, from process start until the model is loaded and warm. */
async function measureColdStart(config: AgentConfigOverrides, dataDir: string): Promise<number> {
  const agentModule = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../app/createAgent.node.js');
  const script = `
    const started = performance.timeOrigin;
    const { createAgent } = await import(${JSON.stringify(agentModule)});
    const agent = createAgent({ config: ${JSON.stringify({ ...config, dataDir })} });
    await agent.whenReady();
    const status = await agent.call('agent:status');
    process.stdout.write(JSON.stringify({ readyMs: Date.now() - started, state: status.llm.state }));
    await agent.close();
  `;
  // A script file, not `node -e`: node-llama-cpp re-runs the process's own arguments to test its binary.
  const scriptFile = path.join(dataDir, '..', `cold-start-${path.basename(dataDir)}.mjs`);
  writeFileSync(scriptFile, script);
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [scriptFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`cold-start child exited with ${code}`))));
  });
  const result = JSON.parse(output) as { readyMs: number; state: string };
  if (result.state !== 'warm') throw new Error(`model did not become warm (${result.state})`);
  return result.readyMs;
}

/** Text-chat benchmarks; every figure is measured in this run, so ratios compare like with like. */
export async function runTextChatBench(options: TextChatBenchOptions): Promise<BenchRow[]> {
  const { config, runs, log } = options;
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'assistant-bench-'));
  try {
    const cold: number[] = [];
    for (let i = 0; i < Math.min(runs, 5); i++) cold.push(await measureColdStart(config, path.join(scratch, `cold-${i}`)));
    log(`cold start: ${cold.map((v) => v.toFixed(0)).join(', ')} ms`);

    const agent = createAgent({ config: { ...config, dataDir: path.join(scratch, 'warm') } });
    await agent.whenReady();
    const ttft: number[] = [];
    const tokensPerSecond: number[] = [];
    const generatedTotal: number[] = [];
    const cacheHit: number[] = [];
    const questions = Array.from({ length: runs }, (_, i) => `${QUESTIONS[i % QUESTIONS.length]!} (${i})`);
    for (const question of questions) {
      const done = await askAndWait(agent, question);
      if (done.timings.ttftMs !== null) ttft.push(done.timings.ttftMs);
      if (done.timings.tokensPerSecond !== null) tokensPerSecond.push(done.timings.tokensPerSecond);
      generatedTotal.push(done.timings.totalMs);
    }
    for (const question of questions) {
      const done = await askAndWait(agent, question);
      if (!done.cached) throw new Error('expected a cache hit');
      cacheHit.push(done.timings.totalMs);
    }
    await agent.close();

    // On demand: the question arrives together with start-up, so its first token waits for load + warm-up.
    const onDemand: number[] = [];
    for (let i = 0; i < Math.min(runs, 5); i++) {
      const fresh = createAgent({ config: { ...config, dataDir: path.join(scratch, `demand-${i}`) } });
      const startedAt = performance.now();
      const started = await fresh.call('chat:send', { text: questions[i]! });
      const firstToken = await new Promise<number>((resolve) => {
        const stop = fresh.listen((event) => {
          if ((event.type === 'token' || event.type === 'done') && event.turnId === started.turnId) {
            stop();
            resolve(performance.now() - startedAt);
          }
        });
      });
      onDemand.push(firstToken);
      await fresh.close();
    }

    return [
      { name: 'cold start until ready (new process)', unit: 'ms', samples: cold },
      { name: 'time to first token (model preloaded)', unit: 'ms', samples: ttft },
      { name: 'time to first token (model loaded on demand)', unit: 'ms', samples: onDemand },
      { name: 'generation speed', unit: 'tokens/s', samples: tokensPerSecond },
      { name: 'generated answer, total', unit: 'ms', samples: generatedTotal },
      { name: 'cache-hit answer, total', unit: 'ms', samples: cacheHit },
    ];
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
