import { useId, useState, type FormEvent } from 'react';

/**
 * "I have a model file": in Electron the system's file picker (when the preload offers `pickModelFile`), in browser mode
 * a path field, since a web page cannot learn a file's path on disk. Either way the path goes to `models:use {path}`.
 */
export function ModelFileChooser({
  role,
  busy,
  onUse,
  label = 'I have a model file',
  startOpen = false,
}: {
  role: 'llm' | 'stt-whisper';
  busy: boolean;
  onUse: (path: string) => Promise<boolean>;
  label?: string;
  startOpen?: boolean;
}) {
  const [open, setOpen] = useState(startOpen);
  const [path, setPath] = useState('');
  const inputId = useId();
  const picker = window.assistantBridge?.pickModelFile;
  const extension = role === 'llm' ? '.gguf' : '.bin';

  if (picker) {
    return (
      <button
        type="button"
        className="button"
        data-testid="model-file-pick"
        disabled={busy}
        onClick={async () => {
          const chosen = await picker({ role });
          if (chosen) await onUse(chosen);
        }}
      >
        {label}…
      </button>
    );
  }

  if (!open) {
    return (
      <button type="button" className="button" data-testid="model-file-open" onClick={() => setOpen(true)}>
        {label}
      </button>
    );
  }

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const trimmed = path.trim();
    if (trimmed === '' || busy) return;
    if (await onUse(trimmed)) setPath('');
  };

  return (
    <form className="model-file" data-testid="model-file-form" onSubmit={(event) => void submit(event)}>
      <label htmlFor={inputId}>Path to a {extension} file on this computer</label>
      <div className="model-file-row">
        <input
          id={inputId}
          className="model-file-input"
          data-testid="model-file-path"
          type="text"
          spellCheck={false}
          autoComplete="off"
          placeholder={role === 'llm' ? '/home/me/models/my-model.gguf' : '/home/me/models/ggml-base.en.bin'}
          value={path}
          onChange={(event) => setPath(event.target.value)}
        />
        <button type="submit" className="button" data-testid="model-file-use" disabled={busy || path.trim() === ''}>
          {busy ? 'Loading…' : 'Use this file'}
        </button>
      </div>
    </form>
  );
}
