import type { CatalogModel, ModelProgressEvent } from '../../src-shared/contract/index.js';

const UNITS = ['bytes', 'KB', 'MB', 'GB', 'TB'] as const;

/**
 * A size as people read it in download dialogs: "1.1 MB", "469 MB", "1.4 GB". Binary multiples (as the README's
 * "469 MiB" for the default model), labelled the way most apps do.
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} bytes`;
  // Three significant figures at most: "1.13 MB" is noise, "1.1 MB" and "469 MB" are not.
  const shown = value >= 100 ? Math.round(value).toString() : value >= 10 ? value.toFixed(0) : value.toFixed(1);
  return `${shown} ${UNITS[unit]}`;
}

export function formatSpeed(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** "about 3 min left", "12 s left"; null when the speed or total is not known yet. */
export function formatTimeLeft(receivedBytes: number, totalBytes: number | null, bytesPerSecond: number): string | null {
  if (totalBytes === null || bytesPerSecond <= 0 || receivedBytes >= totalBytes) return null;
  const seconds = Math.ceil((totalBytes - receivedBytes) / bytesPerSecond);
  if (seconds < 60) return `${seconds} s left`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} min left`;
  const hours = Math.floor(minutes / 60);
  return `about ${hours} h ${minutes % 60} min left`;
}

/** Whole percent done, or null when the size is unknown. */
export function percentDone(receivedBytes: number, totalBytes: number | null): number | null {
  if (totalBytes === null || totalBytes <= 0) return null;
  return Math.max(0, Math.min(100, Math.floor((receivedBytes / totalBytes) * 100)));
}

const MAX_NAME_CHARS = 40;

/**
 * A short human name from the manifest's description ("Whisper base.en in whisper.cpp's ggml format." → "Whisper
 * base.en"; "Qwen2.5 0.5B Instruct, Q4_K_M GGUF …" → "Qwen2.5 0.5B Instruct"). The contract has no name field, so this
 * takes the description's lead phrase, and falls back to the id when there is none short enough.
 */
export function modelDisplayName(model: Pick<CatalogModel, 'id' | 'description' | 'source'>): string {
  if (model.source === 'ollama' || model.source === 'file') return model.id;
  const lead = model.description.split(/,|:| in |\.\s|\.$| \(/)[0]?.trim() ?? '';
  return lead.length > 0 && lead.length <= MAX_NAME_CHARS ? lead : model.id;
}

/** What a download looks like right now: the live progress event when there is one, else what the catalog says. */
export interface DownloadView {
  receivedBytes: number;
  totalBytes: number | null;
  bytesPerSecond: number;
  state: ModelProgressEvent['state'];
}

export function downloadView(model: CatalogModel, progress: ModelProgressEvent | undefined): DownloadView | null {
  if (progress && (progress.state === 'downloading' || progress.state === 'verifying')) {
    return {
      receivedBytes: progress.receivedBytes,
      totalBytes: progress.totalBytes ?? model.sizeBytes,
      bytesPerSecond: progress.bytesPerSecond,
      state: progress.state,
    };
  }
  if (model.state === 'downloading') {
    return { receivedBytes: model.receivedBytes ?? 0, totalBytes: model.sizeBytes, bytesPerSecond: 0, state: 'downloading' };
  }
  return null;
}
