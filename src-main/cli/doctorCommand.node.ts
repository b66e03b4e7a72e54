import { parseArgs } from 'node:util';
import { AgentError, toErrorShape } from '../../src-shared/contract/index.js';
import { databasePathOf, ensureDataDir, moveDatabaseAside, resetDatabaseCommand, type MovedDatabase } from '../agent/memory/dataDirectory.node.js';
import { resolveAgentConfig, type AgentConfig } from '../agent/agentConfig.node.js';
import { DatabaseKeyring } from '../agent/memory/databaseKey.node.js';
import { checkProfileDatabaseFile } from '../agent/memory/sqliteDatabase.node.js';
import { audit } from '../agent/audit.js';
import { createFileLogger } from '../app/fileLogger.node.js';
import { chromaServerSupport, resolveChromaCli } from '../documents/chromaServer.node.js';
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

const USAGE = `Usage: assistant doctor [--json] [--data-dir <dir>] [--fix]

Checks models, Ollama, the Electron binary and the data folder, and prints the fix for anything missing.
  --fix             Move a damaged database aside (to assistant.sqlite3.corrupt-<time>, never deleted) so the next
                    start creates a fresh one.
  --data-dir <dir>  The data folder to check (default: $ASSISTANT_DATA_DIR, else the user data dir).
`;

/** `assistant doctor`: what was found, and the fix for anything missing. Exit code 1 if a required part is missing. */
export async function runDoctorCommand(args: string[], io: CommandIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: { json: { type: 'boolean' }, fix: { type: 'boolean' }, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const config = resolveAgentConfig({ dataDir: values['data-dir'] });
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

  let moved: MovedDatabase | undefined;
  checks.push(...checkDataFolder(config.dataDir, config.encryptDatabase, values.fix === true, (files) => (moved = files)));
  if (moved) await auditMovedAside(config, moved);
  checks.push(await checkDocumentIndex(config));

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

/**
 * The data folder and the database in it. Never throws: an unusable folder or a damaged database is a failed check
 * with its fix. With `fix`, a damaged database is moved aside (never deleted) and the check says where it went.
 */
function checkDataFolder(dataDir: string, encrypt: boolean, fix: boolean, onMoved: (moved: MovedDatabase) => void): Check[] {
  const area = 'data';
  try {
    ensureDataDir(dataDir);
  } catch (error) {
    return [{ area, ok: false, required: true, summary: toErrorShape(error).message, fix: 'Set ASSISTANT_DATA_DIR or --data-dir to a writable folder.' }];
  }
  const folder: Check = { area, ok: true, required: true, summary: `Conversations, timings and the answer cache live in ${dataDir}` };
  const file = databasePathOf(dataDir);
  try {
    // An encrypted database is checked with its key (ASSISTANT_DB_KEY or the key file); without it, it is reported as
    // such and never moved aside as damaged.
    const key = checkProfileDatabaseFile(file, { keys: new DatabaseKeyring({ dataDir }), encrypt });
    return [folder, ...(key ? [{ area, ok: true, required: true, summary: `The database is encrypted; its key comes from ${key.source}.` }] : [])];
  } catch (error) {
    const shape = toErrorShape(error);
    if (error instanceof AgentError && error.code === 'DATABASE_KEY_INVALID') {
      return [folder, { area, ok: false, required: true, summary: shape.message, fix: 'Give the key the database was encrypted with (ASSISTANT_DB_KEY or the key file); nothing is moved.' }];
    }
    if (!(error instanceof AgentError) || error.code !== 'DATABASE_CORRUPT') {
      return [folder, { area, ok: false, required: true, summary: shape.message, fix: 'Set ASSISTANT_DATA_DIR or --data-dir to a writable folder.' }];
    }
    if (!fix) {
      return [
        folder,
        {
          area,
          ok: false,
          required: true,
          summary: `The database ${file} is damaged (${error.detail ?? 'quick_check failed'}); it was left untouched.`,
          fix: `${resetDatabaseCommand(dataDir)}   (moves it aside to ${file}.corrupt-<time>, nothing is deleted; a fresh database is created at the next start)`,
        },
      ];
    }
    try {
      const moved = moveDatabaseAside(dataDir);
      onMoved(moved);
      return [
        folder,
        {
          area,
          ok: true,
          required: true,
          summary: `The damaged database was moved aside to ${moved.movedTo}${moved.files.length > 1 ? ` (with ${moved.files.length - 1} companion file(s))` : ''}; nothing was deleted. A fresh database is created at the next start.`,
        },
      ];
    } catch (moveError) {
      return [folder, { area, ok: false, required: true, summary: toErrorShape(moveError).message, fix: `Move ${file} away by hand.` }];
    }
  }
}

/** The move is a security event: it goes to the data folder's log, as when the app moves a database aside. */
async function auditMovedAside(config: AgentConfig, moved: MovedDatabase): Promise<void> {
  try {
    const log = createFileLogger({ dataDir: config.dataDir, level: config.logLevel });
    audit(log.logger, 'database-moved-aside', { from: databasePathOf(config.dataDir), to: moved.movedTo, files: moved.files.length, by: 'doctor --fix' });
    await log.close();
  } catch {
    // The check already says where the database went; a log folder that cannot be written changes nothing there.
  }
}

/** Where document vectors go: a remote Chroma (is it up?), the bundled server (does it run on this platform?), or keywords only. */
async function checkDocumentIndex(config: AgentConfig): Promise<Check> {
  const area = 'documents';
  if (!config.documents.enabled) return { area, ok: true, required: false, summary: 'Documents are turned off (ASSISTANT_DOCUMENTS=off).' };
  if (config.documents.chromaUrl) {
    const url = `${config.documents.chromaUrl.replace(/\/$/, '')}/api/v2/heartbeat`;
    const headers: Record<string, string> = config.documents.chromaToken ? { Authorization: `Bearer ${config.documents.chromaToken}`, 'X-Chroma-Token': config.documents.chromaToken } : {};
    const up = await fetch(url, { headers, signal: AbortSignal.timeout(2_000) }).then((response) => response.ok, () => false);
    return up
      ? { area, ok: true, required: false, summary: `Chroma at ${config.documents.chromaUrl} (CHROMA_URL) answers.` }
      : {
          area,
          ok: false,
          required: false,
          summary: `Chroma at ${config.documents.chromaUrl} (CHROMA_URL) does not answer: documents are searched by keywords only until it does.`,
          fix: 'Start that Chroma server, fix CHROMA_URL / CHROMA_TOKEN, or unset CHROMA_URL to use the bundled one.',
        };
  }
  const support = chromaServerSupport();
  if (!support.supported) return { area, ok: false, required: false, summary: support.reason, fix: 'Set CHROMA_URL to a Chroma server on another machine.' };
  try {
    resolveChromaCli();
  } catch (error) {
    return { area, ok: false, required: false, summary: (error as Error).message, fix: 'Run "npm install" again.' };
  }
  return { area, ok: true, required: false, summary: "Chroma's bundled server is installed; it starts when documents are first ingested or searched." };
}
