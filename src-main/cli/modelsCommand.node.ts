import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { AgentError, toErrorShape } from '../../src-shared/contract/index.js';
import { resolveAgentConfig } from '../agent/agentConfig.node.js';
import { GgufProblem, inspectGguf, modelPathProblem } from '../agent/llm/modelFileCheck.node.js';
import { findManifestEntry, isFolderEntry, type FileModelEntry, type FolderModelEntry, type ModelManifest, type ModelManifestEntry } from '../models/modelManifest.js';
import { knownModelManifest } from '../models/modelManifest.node.js';
import {
  checkFileAgainstManifest,
  checksumMismatchMessage,
  ModelChecksumRecord,
  modelChecksumRecordPath,
  type FileCheck,
} from '../models/modelChecksums.node.js';
import { downloadModelFile, hashFile, isDownloadRunning, partialPath, type DownloadProgress } from '../models/modelDownloader.node.js';
import { downloadModelFolder, partialFolderBytes } from '../models/modelFolderDownload.node.js';
import {
  describeModels,
  downloadTargetPath,
  folderCompleteness,
  folderFilePaths,
  formatBytes,
  manifestFileEntryAt,
  MODEL_ENV_VARS,
  pullCommand,
  resolveModelPath,
  type ModelLocationOptions,
  type ModelStatus,
} from '../models/modelResolver.node.js';
import { jsonLine, jsonRequested, writeCommandError, writeUsageError } from './commandIo.js';

export interface CommandOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ModelsCommandIo {
  stdout: CommandOutput;
  stderr: CommandOutput;
}

export interface ModelsCommandOptions {
  env?: NodeJS.ProcessEnv;
  /** Cancels a running `pull`; the partial file is kept for the next pull to resume. */
  signal?: AbortSignal;
  /** For tests: a different project tree or manifest. */
  projectRoot?: string;
  manifest?: ModelManifest;
}

const USAGE = `Usage: assistant models <command> [options]

Commands:
  list              Show every known model, its state (ready, missing, downloading), and where.
  pull <id>         Download a model into the models dir (resumes an interrupted download). An embedding
                    model is a folder of files, each checksummed; the folder appears once all are verified.
  path <id>         Print the path a model resolves to; exit code 1 if it is missing.
  verify [id|file]  Hash every downloaded model (or one) again and compare it with the manifest's sha256: ok,
                    MISMATCH, missing, or not in the manifest (a file of your own, which has no checksum to compare
                    with). Updates the remembered checksums that chat start-up uses. Exit code 1 on any mismatch,
                    or when the one model asked for is missing.

Options:
  --models-dir <dir>  Models dir to look in and download to (default: $ASSISTANT_MODELS_DIR, else <project>/models).
  --url <url>         Download from this URL instead of the manifest's (pull only; single-file models).
  --data-dir <dir>    Profile whose remembered checksums verify updates (default: $ASSISTANT_DATA_DIR, else the user data dir).
  --json              verify only: one NDJSON line per model.
  -h, --help          Show this help.
`;

/** `assistant models ...`: returns the process exit code (0 ok, 1 failed, 2 bad usage). */
export async function runModelsCommand(args: string[], io: ModelsCommandIo, options: ModelsCommandOptions = {}): Promise<number> {
  let parsed: ReturnType<typeof parseModelsArgs>;
  try {
    parsed = parseModelsArgs(args);
  } catch (error) {
    return writeUsageError(io, args, error instanceof Error ? error.message : String(error), USAGE);
  }
  const { command, id, modelsDir, url, help, json, dataDir } = parsed;
  if (help || command === undefined) {
    (help ? io.stdout : io.stderr).write(USAGE);
    return help ? 0 : 2;
  }
  if (command !== 'verify' && (json || dataDir !== undefined)) {
    return writeUsageError(io, args, `${json ? '--json' : '--data-dir'} is for "assistant models verify" only.`, USAGE);
  }

  try {
    const manifest = options.manifest ?? knownModelManifest(options.env);
    const location: ModelLocationOptions = {
      manifest,
      ...(options.env && { env: options.env }),
      ...(options.projectRoot && { projectRoot: options.projectRoot }),
      ...(modelsDir !== undefined && { modelsDir }),
    };
    switch (command) {
      case 'list':
        return await listModels(io, location);
      case 'path':
        if (id === undefined) return usageError(io, 'models path needs a model id, e.g. "assistant models path whisper-base-en".');
        return printModelPath(io, id, location);
      case 'pull':
        if (id === undefined) return usageError(io, 'models pull needs a model id, e.g. "assistant models pull whisper-base-en".');
        return await pullModel(io, manifest, id, url, location, options.signal);
      case 'verify': {
        const env = options.env ?? process.env;
        const record = new ModelChecksumRecord(modelChecksumRecordPath(resolveAgentConfig(dataDir === undefined ? {} : { dataDir: path.resolve(dataDir) }, env).dataDir));
        return await verifyModels(io, json, id, record, { ...location, env });
      }
      default:
        return usageError(io, `Unknown models command "${command}".`);
    }
  } catch (error) {
    if (json) writeCommandError(io, true, toErrorShape(error));
    else io.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    // A bad ASSISTANT_MODELS_MANIFEST is a bad setting, like a bad flag.
    return error instanceof AgentError && error.code === 'INVALID_SETTING' ? 2 : 1;
  }
}

function parseModelsArgs(args: string[]) {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'models-dir': { type: 'string' },
      url: { type: 'string' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, id, ...extra] = positionals;
  if (extra.length > 0) throw new Error(`Unexpected arguments: ${extra.join(' ')}`);
  return {
    command,
    id,
    modelsDir: values['models-dir'],
    url: values.url,
    dataDir: values['data-dir'],
    json: values.json ?? false,
    help: values.help ?? false,
  };
}

function usageError(io: ModelsCommandIo, message: string): number {
  io.stderr.write(`${message}\n\n${USAGE}`);
  return 2;
}

async function listModels(io: ModelsCommandIo, location: ModelLocationOptions): Promise<number> {
  const { models, overrides, downloadDir } = describeModels(location);
  const rows: string[][] = [];
  for (const model of models) {
    const status = await modelState(model, location);
    rows.push([
      model.entry.id,
      model.entry.role,
      model.entry.default ? 'default' : model.entry.testOnly ? 'test only' : '',
      formatBytes(model.entry.sizeBytes),
      status,
      model.path,
    ]);
  }
  io.stdout.write(`${table([['ID', 'ROLE', '', 'SIZE', 'STATUS', 'PATH'], ...rows])}\n`);
  io.stdout.write(`\nDownloads go to ${downloadDir}\n`);
  for (const override of overrides) {
    io.stdout.write(
      `$${override.envVar} overrides every ${override.role} model: ${override.path}${override.exists ? '' : ' (FILE DOES NOT EXIST)'}\n`,
    );
  }
  const missingDefaults = models.filter((model) => model.entry.default && !model.found);
  for (const model of missingDefaults) {
    io.stdout.write(`Missing default ${model.entry.role} model: run "${pullCommand(model.entry.id)}"\n`);
  }
  return 0;
}

/**
 * `ready (where)`; `missing`, with how much an interrupted download keeps; `downloading N%` while a pull (this or another
 * process) holds the download lock; WRONG SIZE / INCOMPLETE for a file or folder that is not what the manifest says.
 */
async function modelState(model: ModelStatus, location: ModelLocationOptions): Promise<string> {
  const { entry } = model;
  if (model.found && model.sizeMatches) return `ready (${model.source})`;
  const target = downloadTargetPath(entry, location);
  const kept = isFolderEntry(entry) ? await partialFolderBytes(target, entry.files) : fileSizeOrZero(partialPath(target));
  const percent = `${Math.floor((kept / entry.sizeBytes) * 100)}%`;
  if (isDownloadRunning(target)) return `downloading ${percent}`;
  if (model.found) {
    return isFolderEntry(entry)
      ? `INCOMPLETE (${formatBytes(model.sizeOnDisk ?? 0)} of ${formatBytes(entry.sizeBytes)})`
      : `WRONG SIZE (${formatBytes(model.sizeOnDisk ?? 0)})`;
  }
  return kept > 0 ? `missing (${percent} downloaded, pull resumes)` : 'missing';
}

function fileSizeOrZero(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function printModelPath(io: ModelsCommandIo, id: string, location: ModelLocationOptions): number {
  const resolution = resolveModelPath(id, location);
  if (!resolution.found) {
    io.stderr.write(`${resolution.message}\n`);
    return 1;
  }
  io.stdout.write(`${resolution.path}\n`);
  return 0;
}

async function pullModel(
  io: ModelsCommandIo,
  manifest: ModelManifest,
  id: string,
  urlOverride: string | undefined,
  location: ModelLocationOptions,
  signal: AbortSignal | undefined,
): Promise<number> {
  const entry = findManifestEntry(manifest, id);
  if (!entry) {
    const known = manifest.map((model) => model.id).join(', ');
    io.stderr.write(`Unknown model "${id}". Known models: ${known}.\n`);
    return 1;
  }
  const resumeCommand = pullCommand(entry.id) + (location.modelsDir !== undefined ? ` --models-dir ${location.modelsDir}` : '');
  if (isFolderEntry(entry)) {
    if (urlOverride !== undefined) {
      return usageError(io, `--url is for single-file models; ${entry.id} is a folder of ${entry.files.length} files. Point ASSISTANT_MODELS_MANIFEST at a manifest with your mirror's URLs instead.`);
    }
    return pullFolderModel(io, entry, location, resumeCommand, signal);
  }
  const destination = downloadTargetPath(entry, location);
  if (existsSync(destination)) {
    if (await matchesManifest(destination, entry)) {
      io.stdout.write(`${entry.id} is already present and verified: ${destination}\n`);
      return 0;
    }
    io.stderr.write(`${destination} does not match the manifest (size or checksum); downloading it again.\n`);
  }

  const url = urlOverride ?? entry.url;
  io.stderr.write(`Downloading ${entry.id} (${formatBytes(entry.sizeBytes)}, ${entry.license}) from ${url}\n`);
  const progress = io.stderr.isTTY ? new TerminalProgress(io.stderr, entry) : new LineProgress(io.stderr, entry);
  try {
    const result = await downloadModelFile({
      url,
      destination,
      sizeBytes: entry.sizeBytes,
      sha256: entry.sha256,
      ...(entry.sha1 !== undefined && { sha1: entry.sha1 }),
      ...(signal && { signal }),
      onProgress: (update) => progress.update(update),
      resumeCommand,
    });
    progress.stop();
    if (result.resumedFromBytes > 0) io.stderr.write(`Resumed from ${formatBytes(result.resumedFromBytes)}.\n`);
    if (result.checksumVerified) {
      const algorithms = [entry.sha256 && 'sha256', entry.sha1 && 'sha1'].filter(Boolean).join(' and ');
      io.stdout.write(`Saved ${entry.id} to ${result.path} (${algorithms} verified).\n`);
    } else {
      io.stderr.write(
        `WARNING: the manifest has no checksum for ${entry.id}, so ${result.path} was NOT checksum-verified ` +
          `(sha256 of what was downloaded: ${result.sha256}).\n`,
      );
      io.stdout.write(`Saved ${entry.id} to ${result.path}.\n`);
    }
    return 0;
  } catch (error) {
    progress.stop();
    io.stderr.write(`${error instanceof AgentError ? `${error.code}: ${error.message}` : String(error)}\n`);
    return 1;
  }
}

/** A folder model (an ONNX embedding model): every file downloaded and verified into `<folder>.partial/`, then the folder renamed into place. */
async function pullFolderModel(
  io: ModelsCommandIo,
  entry: FolderModelEntry,
  location: ModelLocationOptions,
  resumeCommand: string,
  signal: AbortSignal | undefined,
): Promise<number> {
  const destination = downloadTargetPath(entry, location);
  if (folderCompleteness(destination, entry) !== null) {
    if (await folderMatchesManifest(destination, entry)) {
      io.stdout.write(`${entry.id} is already present and verified: ${destination}\n`);
      return 0;
    }
    io.stderr.write(`${destination} does not hold every file of ${entry.id} as the manifest says (size or checksum); downloading what is missing.\n`);
  }
  const hosts = [...new Set(entry.files.map((file) => new URL(file.url).host))].join(', ');
  io.stderr.write(`Downloading ${entry.id} (${entry.files.length} files, ${formatBytes(entry.sizeBytes)}, ${entry.license}) from ${hosts}\n`);
  const progress = io.stderr.isTTY ? new TerminalProgress(io.stderr, entry) : new LineProgress(io.stderr, entry);
  try {
    const result = await downloadModelFolder({
      destination,
      files: entry.files,
      ...(signal && { signal }),
      onProgress: (update) => progress.update(update),
      resumeCommand,
    });
    progress.stop();
    if (result.resumedFromBytes > 0) io.stderr.write(`Resumed from ${formatBytes(result.resumedFromBytes)}.\n`);
    io.stdout.write(`Saved ${entry.id} to ${result.path} (${entry.files.length} files, sha256 verified).\n`);
    return 0;
  } catch (error) {
    progress.stop();
    io.stderr.write(`${error instanceof AgentError ? `${error.code}: ${error.message}` : String(error)}\n`);
    return 1;
  }
}

/** What `models verify` found for one model (or one file of the user's own). */
export interface ModelVerification {
  type: 'model';
  /** Null for a file that is not a manifest model. */
  id: string | null;
  role: string | null;
  status: FileCheck['status'] | 'not-in-manifest';
  path: string;
  sizeBytes: number | null;
  sha256: string | null;
  expectedSha256: string | null;
  /** Time spent hashing (a folder model: all its files); null when nothing was hashed. */
  hashMs: number | null;
  /** What to do, for every status but ok and missing. */
  message?: string;
}

/**
 * `assistant models verify [id|file]`: hashes the files again (never trusting the remembered digest), compares them
 * with the manifest, and remembers the new digests. Without an argument: every manifest model, plus the files the role
 * env vars point at. Exit code 1 on any mismatch or unreadable file, or when the one model asked for is missing.
 */
async function verifyModels(io: ModelsCommandIo, json: boolean, idOrPath: string | undefined, record: ModelChecksumRecord, location: ModelLocationOptions): Promise<number> {
  const manifest = location.manifest ?? knownModelManifest(location.env);
  const results: ModelVerification[] = [];
  const report = (result: ModelVerification) => {
    results.push(result);
    if (json) io.stdout.write(jsonLine(result));
  };
  const { models } = describeModels(location);
  const statusOf = (entry: ModelManifestEntry) => models.find((model) => model.entry.id === entry.id)!;

  if (idOrPath === undefined) {
    for (const entry of manifest) report(await verifyEntry(entry, statusOf(entry), record));
    for (const [role, envVar] of Object.entries(MODEL_ENV_VARS)) {
      const value = location.env?.[envVar]?.trim();
      // An id there (ASSISTANT_LLM_MODEL=stories260k) names a manifest model, checked above.
      if (value && findManifestEntry(manifest, value) === undefined) report(await verifyPath(path.resolve(value), role, record, location));
    }
  } else {
    const entry = findManifestEntry(manifest, idOrPath);
    if (entry !== undefined) report(await verifyEntry(entry, statusOf(entry), record));
    else if (/[\\/]/.test(idOrPath) || /\.(gguf|bin)$/i.test(idOrPath)) report(await verifyPath(path.resolve(idOrPath), null, record, location));
    else {
      const known = manifest.map((model) => model.id).join(', ');
      throw new AgentError('NOT_FOUND', `Unknown model "${idOrPath}". Known models: ${known}; or give the path of a model file.`);
    }
  }

  if (!json) {
    const rows = results.map((result) => [result.id ?? '-', result.role ?? '-', statusLabel(result.status), result.path]);
    io.stdout.write(`${table([['ID', 'ROLE', 'RESULT', 'PATH'], ...rows])}\n`);
    for (const result of results) if (result.message) io.stdout.write(`\n${result.message}\n`);
    const hashed = results.filter((result) => result.hashMs !== null);
    if (hashed.length > 0) {
      const bytes = hashed.reduce((sum, result) => sum + (result.sizeBytes ?? 0), 0);
      const ms = hashed.reduce((sum, result) => sum + (result.hashMs ?? 0), 0);
      io.stdout.write(`\nHashed ${hashed.length} model${hashed.length === 1 ? '' : 's'} (${formatBytes(bytes)}) in ${Math.round(ms)} ms.\n`);
    }
  }
  const failed = results.some((result) => result.status === 'mismatch' || result.status === 'unreadable');
  const askedForMissing = idOrPath !== undefined && results.some((result) => result.status === 'missing');
  return failed || askedForMissing ? 1 : 0;
}

function statusLabel(status: ModelVerification['status']): string {
  switch (status) {
    case 'mismatch':
      return 'MISMATCH';
    case 'unreadable':
      return 'UNREADABLE';
    case 'no-checksum':
      return 'size ok, no checksum';
    case 'not-in-manifest':
      return 'not in manifest';
    default:
      return status;
  }
}

async function verifyEntry(entry: ModelManifestEntry, status: ModelStatus, record: ModelChecksumRecord): Promise<ModelVerification> {
  const base = { type: 'model' as const, id: entry.id, role: entry.role, path: status.path };
  if (!status.found) return { ...base, status: 'missing', sizeBytes: null, sha256: null, expectedSha256: isFolderEntry(entry) ? null : entry.sha256, hashMs: null };
  if (!isFolderEntry(entry)) {
    const check = await checkFileAgainstManifest({ path: status.path, sizeBytes: entry.sizeBytes, sha256: entry.sha256 }, record, { rehash: true });
    const message = checkMessage(entry.id, check);
    return { ...base, ...verificationOf(check), ...(message !== undefined && { message }) };
  }
  // A folder model: every file against its own checksum; the first that is off names the problem.
  const checks: FileCheck[] = [];
  for (const [index, file] of folderFilePaths(status.path, entry).entries()) {
    const expected = entry.files[index]!;
    checks.push(await checkFileAgainstManifest({ path: file, sizeBytes: expected.sizeBytes, sha256: expected.sha256 }, record, { rehash: true }));
  }
  const hashMs = checks.some((check) => check.hashMs !== null) ? checks.reduce((sum, check) => sum + (check.hashMs ?? 0), 0) : null;
  const sizeBytes = checks.reduce((sum, check) => sum + (check.sizeBytes ?? 0), 0);
  const bad = checks.find((check) => check.status !== 'ok');
  if (bad === undefined) return { ...base, status: 'ok', sizeBytes, sha256: null, expectedSha256: null, hashMs };
  const badStatus = bad.status === 'missing' || bad.status === 'no-checksum' ? 'mismatch' : bad.status;
  const reason = bad.status === 'missing' ? `${bad.path} is missing` : `${bad.path}: ${bad.reason ?? bad.status}`;
  return {
    ...base,
    status: badStatus,
    sizeBytes,
    sha256: null,
    expectedSha256: null,
    hashMs,
    message: `${entry.id} (${status.path}) is not the folder the model manifest lists (${reason}). Download it again with \`${pullCommand(entry.id)}\`.`,
  };
}

/** A path given to verify, or set in a role env var: a manifest model if it lives where one does, else a file of the user's own. */
async function verifyPath(file: string, role: string | null, record: ModelChecksumRecord, location: ModelLocationOptions): Promise<ModelVerification> {
  const entry = manifestFileEntryAt(file, location);
  if (entry !== undefined) {
    const check = await checkFileAgainstManifest({ path: file, sizeBytes: entry.sizeBytes, sha256: entry.sha256 }, record, { rehash: true });
    const message = checkMessage(entry.id, check);
    return { type: 'model', id: entry.id, role: entry.role, ...verificationOf(check), ...(message !== undefined && { message }) };
  }
  const base = { type: 'model' as const, id: null, role, path: file, sha256: null, expectedSha256: null, hashMs: null };
  const problem = modelPathProblem(file, { extension: '.gguf', needs: 'verify needs a model file' });
  if (problem?.kind === 'missing' && !existsSync(file)) return { ...base, status: 'missing', sizeBytes: null, message: `${file} does not exist.` };
  if (problem !== undefined) return { ...base, status: 'unreadable', sizeBytes: null, message: `${problem.reason}.` };
  const size = statSync(file).size;
  const unusable = (why: string): ModelVerification => ({ ...base, status: 'unreadable', sizeBytes: size, message: `${file} ${why}` });
  if (size === 0) return unusable('is empty: it is not a model. Get it again from where it came from.');
  if (/\.gguf$/i.test(file)) {
    try {
      await inspectGguf(file);
    } catch (error) {
      if (!(error instanceof GgufProblem)) throw error;
      return unusable(`is not a usable GGUF model: ${error.reason}. Get it again from where it came from.`);
    }
  }
  // The same bytes as a manifest model, kept somewhere else: that model's checksum holds for it.
  const started = performance.now();
  let sha256: string;
  try {
    sha256 = (await hashFile(file)).sha256;
  } catch (error) {
    return unusable(`could not be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`);
  }
  const hashMs = performance.now() - started;
  const same = location.manifest?.find((candidate) => !isFolderEntry(candidate) && candidate.sha256 === sha256) ??
    knownModelManifest(location.env).find((candidate) => !isFolderEntry(candidate) && candidate.sha256 === sha256);
  if (same !== undefined) return { ...base, id: same.id, role: same.role, status: 'ok', sizeBytes: size, sha256, hashMs, message: `${file} is a copy of ${same.id}: its sha256 matches the manifest.` };
  return {
    ...base,
    status: 'not-in-manifest',
    sizeBytes: size,
    sha256,
    hashMs,
    message: `${file} is not a model from the manifest, so there is no checksum to verify it against. If it misbehaves (e.g. answers with no text), get it again from where it came from, or use a manifest model (\`npx assistant models list\`).`,
  };
}


function verificationOf(check: FileCheck): Pick<ModelVerification, 'status' | 'path' | 'sizeBytes' | 'sha256' | 'expectedSha256' | 'hashMs'> {
  return { status: check.status, path: check.path, sizeBytes: check.sizeBytes, sha256: check.sha256, expectedSha256: check.expectedSha256, hashMs: check.hashMs };
}

function checkMessage(id: string, check: FileCheck): string | undefined {
  switch (check.status) {
    case 'mismatch':
      return checksumMismatchMessage(id, check);
    case 'unreadable':
      return `${check.path} (${id}) could not be checked: ${check.reason ?? 'it cannot be read'}.`;
    case 'no-checksum':
      return `${id}: the manifest has no sha256 for it, so only its size (${check.sizeBytes} bytes, as expected) was checked.`;
    default:
      return undefined;
  }
}

/** A folder counts as installed only if every file of the manifest is there with its size and sha256. */
async function folderMatchesManifest(folder: string, entry: FolderModelEntry): Promise<boolean> {
  if (!folderCompleteness(folder, entry)?.complete) return false;
  const files = folderFilePaths(folder, entry);
  for (const [index, file] of files.entries()) {
    if ((await hashFile(file)).sha256 !== entry.files[index]?.sha256) return false;
  }
  return true;
}

/** An existing file counts as installed only if it has the manifest's size and every checksum it lists. */
async function matchesManifest(file: string, entry: FileModelEntry): Promise<boolean> {
  if (statSync(file).size !== entry.sizeBytes) return false;
  const digests = await hashFile(file, Boolean(entry.sha1));
  return (!entry.sha256 || entry.sha256 === digests.sha256) && (!entry.sha1 || entry.sha1 === digests.sha1);
}

/** A live bar for a person at a terminal. */
class TerminalProgress {
  private readonly bar: cliProgress.SingleBar;
  private started = false;

  constructor(
    stream: CommandOutput,
    private readonly entry: ModelManifestEntry,
  ) {
    this.bar = new cliProgress.SingleBar(
      {
        stream: stream as NodeJS.WritableStream,
        format: `${entry.id} [{bar}] {percentage}% | {done} of {size} | {rate} | ETA {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  update(progress: DownloadProgress): void {
    const total = progress.total ?? this.entry.sizeBytes;
    const payload = { done: formatBytes(progress.bytes), size: formatBytes(total), rate: `${formatBytes(progress.bytesPerSecond)}/s` };
    if (!this.started) {
      this.bar.start(total, progress.bytes, payload);
      this.started = true;
    } else {
      this.bar.update(progress.bytes, payload);
    }
  }

  stop(): void {
    if (this.started) this.bar.stop();
    this.started = false;
  }
}

/** One line per 10 % for logs and pipes, where a redrawn bar would be noise. */
class LineProgress {
  private lastStep = -1;

  constructor(
    private readonly stream: CommandOutput,
    private readonly entry: ModelManifestEntry,
  ) {}

  update(progress: DownloadProgress): void {
    const total = progress.total ?? this.entry.sizeBytes;
    const percent = total > 0 ? Math.min(100, Math.floor((progress.bytes / total) * 100)) : 0;
    const step = Math.floor(percent / 10);
    if (step === this.lastStep) return;
    this.lastStep = step;
    this.stream.write(
      `${this.entry.id}: ${percent}% (${formatBytes(progress.bytes)} of ${formatBytes(total)}, ${formatBytes(progress.bytesPerSecond)}/s)\n`,
    );
  }

  stop(): void {}
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n');
}
