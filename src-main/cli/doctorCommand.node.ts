import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolveAgentConfig } from '../agent/agentConfig.node.js';
import { probeOllama } from '../agent/llm/ollamaProvider.node.js';
import { describeModels, formatBytes, pullCommand } from '../models/modelResolver.node.js';
import { findElectronBinary } from '../platform/electronBinary.node.js';
import { projectRoot } from '../models/projectPaths.node.js';
import { jsonLine, type CommandIo } from './commandIo.js';

interface Check {
  area: string;
  ok: boolean;
  /** Optional parts (Ollama, Electron) do not fail the doctor. */
  required: boolean;
  summary: string;
  fix?: string;
}

/** `assistant doctor`: what was found, and the fix for anything missing. Exit code 1 if a required part is missing. */
export async function runDoctorCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
  const config = resolveAgentConfig();
  const checks: Check[] = [];

  const { models, overrides } = describeModels();
  for (const override of overrides) {
    checks.push({
      area: 'models',
      ok: override.exists,
      required: true,
      summary: `$${override.envVar} → ${override.path}${override.exists ? '' : ' (does not exist)'}`,
      ...(!override.exists && { fix: `Point $${override.envVar} at an existing file, or unset it.` }),
    });
  }
  for (const model of models) {
    if (model.entry.testOnly && !model.found) continue;
    const needed = model.entry.default === true && !overrides.some((o) => o.role === model.entry.role);
    checks.push({
      area: 'models',
      ok: model.found,
      required: needed && model.entry.role === 'llm' && config.llm.provider !== 'ollama',
      summary: model.found
        ? `${model.entry.id} (${model.entry.role}) found at ${model.path}${model.sizeMatches === false ? ` but its size is ${formatBytes(model.sizeOnDisk ?? 0)}, expected ${formatBytes(model.entry.sizeBytes)}` : ''}`
        : `${model.entry.id} (${model.entry.role}${model.entry.default ? ', default' : ''}) is not downloaded`,
      ...(!model.found && { fix: `${pullCommand(model.entry.id)}   (offline: copy the file to ${model.path})` }),
    });
  }

  const probe = await probeOllama(config.llm.ollamaHost, config.llm.ollamaModel, config.llm.ollamaProbeTimeoutMs);
  checks.push({
    area: 'ollama',
    ok: probe.reachable && probe.hasModel,
    required: config.llm.provider === 'ollama',
    summary: !probe.reachable
      ? `Ollama is not reachable at ${config.llm.ollamaHost} (optional: the embedded model is used instead)`
      : probe.hasModel
        ? `Ollama at ${config.llm.ollamaHost} has ${config.llm.ollamaModel}`
        : `Ollama at ${config.llm.ollamaHost} is running but does not have ${config.llm.ollamaModel}`,
    fix: !probe.reachable ? 'Install Ollama and run "ollama serve", or set OLLAMA_HOST.' : `ollama pull ${config.llm.ollamaModel}`,
  });

  const electron = findElectronBinary(projectRoot());
  checks.push({
    area: 'electron',
    ok: electron.found,
    required: false,
    summary: electron.found
      ? `Electron ${electron.version} binary at ${electron.path}`
      : `No Electron binary: "npm start" serves the UI in browser mode instead. ${electron.problem ?? ''}`,
    ...(!electron.found && electron.problem && { fix: electron.problem }),
  });

  let dataWritable = true;
  try {
    if (!existsSync(config.dataDir)) mkdirSync(config.dataDir, { recursive: true });
    accessSync(config.dataDir, constants.W_OK);
  } catch {
    dataWritable = false;
  }
  checks.push({
    area: 'data',
    ok: dataWritable,
    required: true,
    summary: `Conversations, timings and the answer cache live in ${config.dataDir}${dataWritable ? '' : ' (not writable)'}`,
    ...(!dataWritable && { fix: 'Set ASSISTANT_DATA_DIR or --data-dir to a writable folder.' }),
  });

  if (values.json) {
    for (const check of checks) io.stdout.write(jsonLine({ type: 'check', ...check }));
  } else {
    for (const check of checks) {
      const mark = check.ok ? 'ok  ' : check.required ? 'FAIL' : 'note';
      io.stdout.write(`[${mark}] ${check.area}: ${check.summary}\n`);
      if (!check.ok && check.fix) io.stdout.write(`       fix: ${check.fix}\n`);
    }
  }
  return checks.some((check) => check.required && !check.ok) ? 1 : 0;
}
