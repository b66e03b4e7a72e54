import { isDocumentFileName, SKIPPED_DOCUMENT_FOLDERS } from '../../src-shared/contract/index.js';


function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** Every entry of a folder: readEntries answers in batches until it answers an empty one. */
async function entriesOf(folder: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = folder.createReader();
  const all: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

async function filesUnder(folder: FileSystemDirectoryEntry, into: File[]): Promise<void> {
  const entries = (await entriesOf(folder)).sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    if (entry.isDirectory) {
      if (!SKIPPED_DOCUMENT_FOLDERS.has(entry.name)) await filesUnder(entry as FileSystemDirectoryEntry, into);
    } else if (entry.isFile && isDocumentFileName(entry.name)) into.push(await fileOf(entry as FileSystemFileEntry)); // as the agent's own walk does
  }
}

/**
 * The files of a drop. `walkFolders` (a browser, where files have no paths): a dropped folder becomes the files in it,
 * recursively, hidden ones left out. Without it (Electron) a folder stays one entry, whose path the agent walks itself.
 * The drop's items are only readable during the event: this reads them at once, and walks folders afterwards.
 */
export function droppedFiles(data: DataTransfer, options: { walkFolders: boolean }): Promise<File[]> {
  const taken = [...data.items]
    .filter((item) => item.kind === 'file')
    .map((item) => ({ file: item.getAsFile(), entry: options.walkFolders ? item.webkitGetAsEntry() : null }));
  // Some drops (and synthetic ones) carry `files` but no items.
  if (taken.length === 0) return Promise.resolve([...data.files]);
  return (async () => {
    const files: File[] = [];
    for (const { file, entry } of taken) {
      if (entry?.isDirectory) await filesUnder(entry as FileSystemDirectoryEntry, files);
      else if (file) files.push(file);
    }
    return files;
  })();
}
