import path from 'node:path';
import { defaultManifestEntry } from './modelManifest.js';
import { knownModelManifest } from './modelManifest.node.js';

const FLAGS = '--model / ASSISTANT_LLM_MODEL';

/** The one command that gets a working model: the manifest model this file is a copy of, else the default chat model. */
export function llmModelFixHint(modelPath: string): string {
  let again = false;
  let id = '<id>';
  try {
    const manifest = knownModelManifest();
    const same = manifest.find((entry) => entry.role === 'llm' && path.basename(entry.file) === path.basename(modelPath));
    again = same !== undefined;
    id = (same ?? defaultManifestEntry(manifest, 'llm'))?.id ?? id;
  } catch {
    // No readable manifest: the generic hint still says what to do.
  }
  const download = again ? 'Download it again with' : 'Download the default chat model with';
  return `${download} \`npx assistant models pull ${id}\`, or point ${FLAGS} at a .gguf file.`;
}

/**
 * Checks the path and the GGUF header before handing the file to llama.cpp, so that a missing file, a directory,
 * a symlink loop, an empty, foreign, truncated or damaged file each get an error that names the path and the fix
 * (node-llama-cpp's own parser fails on some of these with internal JS errors such as
 * "Cannot read properties of undefined (reading 'architecture')").
 */
