import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRecoverableAgent } from '../app/recoverableAgent.node.js';
import { startHeadlessHost } from '../host/headlessHost.node.js';
import { projectRoot } from '../models/projectPaths.node.js';
import { agentConfigFromFlags, agentOptionSpec } from './chatCommand.node.js';
import { toErrorShape } from '../../src-shared/contract/index.js';
import { writeCommandError, writeSettingError, writeUsageError, type CommandIo } from './commandIo.js';

const USAGE = `Usage: assistant serve [--port <n>] [--json] [agent options as for "assistant chat"]

Runs the headless host: the same agent and UI as the desktop app, served to a browser on 127.0.0.1 only,
behind a per-launch token that is part of the printed URL. A damaged database does not stop it: the UI shows the
problem and offers to move the file aside and start fresh. With --json, errors are printed as NDJSON error lines.
`;

/** `assistant serve`: runs until SIGINT/SIGTERM. */
export async function runServeCommand(args: string[], io: CommandIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: { ...agentOptionSpec, port: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    return writeUsageError(io, args, (error as Error).message, USAGE);
  }
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const staticDir = path.join(projectRoot(), 'build', 'renderer');
  if (!existsSync(path.join(staticDir, 'index.html'))) {
    io.stderr.write(`The UI is not built (${staticDir} is missing). Run "npm run build" first.\n`);
    return 1;
  }
  const json = values.json === true;
  const port = values.port === undefined ? 0 : /^[0-9]{1,5}$/.test(values.port) ? Number(values.port) : NaN;
  if (!(port >= 0 && port <= 65535)) {
    return writeSettingError(io, args, new Error(`--port must be a whole number from 0 to 65535; got ${JSON.stringify(values.port)}.`));
  }
  let config;
  try {
    // The voice stack is on unless ASSISTANT_VOICE=off: the UI has a mic button.
    config = { ...agentConfigFromFlags(values), voice: {} };
  } catch (error) {
    return writeSettingError(io, args, error);
  }
  let agent: ReturnType<typeof createRecoverableAgent>;
  try {
    agent = createRecoverableAgent({ config, documents: { background: true } });
  } catch (error) {
    const shape = toErrorShape(error);
    writeCommandError(io, json, shape);
    // A bad ASSISTANT_MODELS_MANIFEST (or another setting) is a settings error, as in `models list`.
    return shape.code === 'INVALID_SETTING' ? 2 : 1;
  }
  const problem = agent.problem;
  if (problem?.code === 'DATA_DIR_UNUSABLE') {
    // Nothing in the UI could fix the folder: say so here and stop.
    writeCommandError(io, json, problem);
    await agent.close();
    return 1;
  }
  if (problem?.code === 'DATABASE_KEY_INVALID') {
    // An encrypted database without its key is not damaged: nothing is moved; the key is what is missing.
    writeCommandError(io, json, problem);
    io.stderr.write('The app below shows this problem. Start again with the right key (ASSISTANT_DB_KEY or the key file); the database is not touched.\n');
  } else if (problem) {
    // A damaged database: the UI still comes up, shows this, and offers "Move it aside and start fresh".
    writeCommandError(io, json, problem);
    io.stderr.write('The app below shows this problem and can move the damaged database aside and start fresh.\n');
  }
  const stopStatusLines = agent.listen((event) => {
    if (event.type === 'status') {
      const { state, provider, model, message, missingModelId } = event.status.llm;
      if (missingModelId !== undefined) {
        // The first run: the UI offers the download; no paragraph of paths here.
        io.stderr.write(`Model: ${missingModelId} is not downloaded yet; the app offers to download it (or run "npx assistant models pull ${missingModelId}").\n`);
        return;
      }
      io.stderr.write(`Model: ${state}${provider ? ` (${provider}${model ? `, ${model}` : ''})` : ''}${message ? ` — ${message}` : ''}\n`);
    }
  });
  let host: Awaited<ReturnType<typeof startHeadlessHost>>;
  try {
    host = await startHeadlessHost({ agent, staticDir, port });
  } catch (error) {
    stopStatusLines();
    const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
    writeCommandError(
      io,
      json,
      inUse ? { code: 'PORT_IN_USE', message: `Port ${port} is in use; pick another with --port (0 picks a free one).` } : toErrorShape(error),
    );
    await agent.close();
    return 1;
  }
  io.stdout.write(`Assistant UI (browser mode): ${host.url}\n`);
  io.stderr.write(`Data: ${agent.config.dataDir}. Press Ctrl+C to stop.\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  io.stderr.write('Stopping…\n');
  await host.close();
  await agent.close();
  return 0;
}
