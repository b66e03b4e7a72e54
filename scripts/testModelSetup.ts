// vitest globalSetup: makes sure the test LLM (stories260K) is on disk before any test runs. On these machines it is
// in ../shared/models; elsewhere it is downloaded once from its manifest URL into models/ (checksum-verified).
import { downloadModelFile } from '../src-main/models/modelDownloader.node.js';
import { downloadTargetPath, resolveModelPath } from '../src-main/models/modelResolver.node.js';
import { findManifestEntry, isFolderEntry } from '../src-main/models/modelManifest.js';
import { loadModelManifest } from '../src-main/models/modelManifest.node.js';

export default async function ensureTestModel(): Promise<void> {
  if (process.env.ASSISTANT_TEST_LLM_MODEL) return;
  const resolution = resolveModelPath('stories260k', { env: {} });
  if (resolution.found) {
    process.env.ASSISTANT_TEST_LLM_MODEL = resolution.path;
    return;
  }
  const entry = findManifestEntry(loadModelManifest(), 'stories260k');
  if (entry === undefined || isFolderEntry(entry)) throw new Error('The model manifest has no single-file stories260k entry.');
  const destination = downloadTargetPath(entry, { env: {} });
  console.log(`Test model not found; downloading ${entry.url} to ${destination}`);
  await downloadModelFile({ url: entry.url, destination, sizeBytes: entry.sizeBytes, sha256: entry.sha256 });
  process.env.ASSISTANT_TEST_LLM_MODEL = destination;
}
