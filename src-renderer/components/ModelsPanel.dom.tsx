import { useState, type FormEvent } from 'react';
import type { CatalogModel, CatalogModelRole } from '../../src-shared/contract/index.js';
import { downloadView, formatBytes, modelDisplayName, percentDone } from '../state/modelFormat.js';
import { useModels } from '../state/modelsStore.dom.js';
import { useFirstRunCardShown } from './FirstRunCard.dom.js';
import { ModelDownloadProgress } from './ModelDownloadProgress.dom.js';
import { ModelFileChooser } from './ModelFileChooser.dom.js';
import { ItemTableHead, Panel, PanelButton, PanelError } from './Panel.dom.js';

const ORIGIN = 'panel';

/** Opens and closes the models panel. */
export function ModelsButton() {
  const open = useModels((state) => state.panelOpen);
  const toggle = useModels((state) => state.togglePanel);
  const progress = useModels((state) => state.progress);
  const downloads = Object.values(progress);
  const only = downloads.length === 1 ? downloads[0]! : undefined;
  const onlyPercent = only ? percentDone(only.receivedBytes, only.totalBytes) : null;
  const badge = only ? (onlyPercent === null ? 'downloading' : `${onlyPercent}%`) : downloads.length > 1 ? `${downloads.length} downloads` : null;
  return <PanelButton name="models" label="Models" open={open} onToggle={toggle} badge={badge} />;
}

const ROLE_TITLES: Record<CatalogModelRole, string> = {
  llm: 'Chat',
  'stt-whisper': 'Speech recognition (Whisper)',
  vad: 'Speech detection',
  embedding: 'Document search (embeddings)',
};

const MODEL_COLUMNS = ['Model', 'Size', 'License', 'State'];

/** Roles whose model can be chosen from here (a Whisper or embedding model takes over at the next start). */
const USABLE_ROLES = new Set<CatalogModelRole>(['llm', 'stt-whisper', 'embedding']);

/**
 * Every known model: the manifest's (with role, size, license and state), Ollama's installed ones when it runs, and a
 * model file of your own. Download, Cancel, Delete and Use; a pull through Ollama by name, with the same progress bar.
 */
export function ModelsPanel() {
  const open = useModels((state) => state.panelOpen);
  const catalog = useModels((state) => state.catalog);
  const close = useModels((state) => state.closePanel);
  const actionError = useModels((state) => (state.actionError?.origin === ORIGIN ? state.actionError.message : null));
  const notice = useModels((state) => (state.notice?.origin === ORIGIN ? state.notice.message : null));
  const use = useModels((state) => state.use);
  const usingFile = useModels((state) => Object.entries(state.pending).some(([key, action]) => key.startsWith('path:') && action === 'use'));
  if (!open) return null;

  // Test-only models are for the test suite: listed once they are on disk, never offered for download.
  const listed = catalog?.models.filter((model) => model.source !== 'ollama' && (!model.testOnly || model.state !== 'missing')) ?? [];
  const roles = (Object.keys(ROLE_TITLES) as CatalogModelRole[]).filter((role) => listed.some((model) => model.role === role));

  return (
    <Panel name="models" title="Models" className="models-panel" onClose={close}>
      {catalog === null ? (
        <p className="models-empty">Loading…</p>
      ) : (
        <>
          <p className="models-dir">
            Downloads go to <code data-testid="models-dir">{catalog.modelsDir}</code>
          </p>
          {actionError !== null && <PanelError data-testid="models-error">{actionError}</PanelError>}
          {notice !== null && (
            <p className="models-dir models-notice" data-testid="models-notice" role="status">
              {notice}
            </p>
          )}
          <table className="item-table" data-testid="models-table">
            <ItemTableHead columns={MODEL_COLUMNS} />
            {roles.map((role) => (
              <tbody key={role}>
                <tr className="models-role-row">
                  <th scope="colgroup" colSpan={5}>
                    {ROLE_TITLES[role]}
                  </th>
                </tr>
                {listed
                  .filter((model) => model.role === role)
                  .map((model) => (
                    <ModelRow key={model.id} model={model} />
                  ))}
              </tbody>
            ))}
          </table>
          <OllamaSection />
          <div className="models-file">
            <ModelFileChooser role="llm" label="Use a chat model file (.gguf)" busy={usingFile} onUse={(path) => use({ path }, ORIGIN)} />
          </div>
        </>
      )}
    </Panel>
  );
}

function stateLabel(model: CatalogModel, percent: number | null): string {
  if (model.state === 'downloading') return percent === null ? 'downloading' : `downloading ${percent}%`;
  return model.state;
}

function ModelRow({ model }: { model: CatalogModel }) {
  const progress = useModels((state) => state.progress[model.id]);
  const failure = useModels((state) => state.failures[model.id]);
  const pending = useModels((state) => state.pending[model.id]);
  const firstRunShown = useFirstRunCardShown();
  const pull = useModels((state) => state.pull);
  const cancel = useModels((state) => state.cancel);
  const remove = useModels((state) => state.remove);
  const use = useModels((state) => state.use);
  const dismissFailure = useModels((state) => state.dismissFailure);
  const [confirmingDelete, setConfirmingDelete] = useState(false);

  const view = downloadView(model, progress);
  const shownState = view ? 'downloading' : model.state;
  const percent = view ? percentDone(view.receivedBytes, view.totalBytes) : null;
  // A failure is shown where its pull was asked; one nobody here asked for shows here unless the first-run card has it.
  const showFailure = failure && !view && (failure.origin === ORIGIN || (failure.origin === undefined && !(firstRunShown && model.role === 'llm' && model.isDefault)));

  return (
    <>
      <tr className={`item-row models-row--${shownState}`} data-testid="model-row" data-model-id={model.id} data-role={model.role} data-state={shownState}>
        <td className="models-name">
          <span title={model.description}>{modelDisplayName(model)}</span>
          <span className="models-id">{model.id}</span>
          {model.isDefault && <span className="tag">default</span>}
          {model.testOnly && <span className="tag">test only</span>}
          {model.nextStart && (
            <span className="tag" data-testid="model-next-start">
              from next start
            </span>
          )}
        </td>
        <td data-field="size">{model.sizeBytes === null ? '—' : formatBytes(model.sizeBytes)}</td>
        <td data-field="license">{model.license ?? '—'}</td>
        <td data-field="state" className="models-state">
          {stateLabel({ ...model, state: shownState }, percent)}
        </td>
        <td className="models-actions">
          {shownState === 'missing' && !model.testOnly && (
            <button
              type="button"
              className="button button--small"
              data-testid="model-download"
              disabled={pending !== undefined}
              onClick={() => void pull(model.id, { origin: ORIGIN })}
            >
              {showFailure ? 'Retry' : (model.receivedBytes ?? 0) > 0 ? 'Resume' : 'Download'}
            </button>
          )}
          {shownState === 'downloading' && (
            <button type="button" className="button button--small" data-testid="model-cancel" disabled={pending === 'cancel'} onClick={() => void cancel(model.id, ORIGIN)}>
              Cancel
            </button>
          )}
          {shownState === 'ready' && USABLE_ROLES.has(model.role) && (
            <button type="button" className="button button--small button--primary" data-testid="model-use" disabled={pending !== undefined} onClick={() => void use({ id: model.id }, ORIGIN)}>
              {pending === 'use' ? 'Loading…' : 'Use'}
            </button>
          )}
          {shownState === 'ready' && model.source !== 'file' && model.source !== 'built-in' && !confirmingDelete && (
            <button type="button" className="button button--small" data-testid="model-delete" disabled={pending !== undefined} onClick={() => setConfirmingDelete(true)}>
              Delete
            </button>
          )}
          {confirmingDelete && shownState === 'ready' && (
            <span className="models-confirm">
              {model.role === 'embedding' ? 'Delete the folder?' : 'Delete the file?'}
              <button
                type="button"
                className="button button--small button--danger"
                data-testid="model-delete-confirm"
                onClick={() => {
                  setConfirmingDelete(false);
                  void remove(model.id, ORIGIN);
                }}
              >
                Delete
              </button>
              <button type="button" className="button button--small" onClick={() => setConfirmingDelete(false)}>
                Keep
              </button>
            </span>
          )}
          {shownState === 'active' && <span className="models-in-use">in use</span>}
        </td>
      </tr>
      {view && (
        <tr className="models-progress-row">
          <td colSpan={5}>
            <ModelDownloadProgress modelId={model.id} view={view} cancelling={pending === 'cancel'} />
          </td>
        </tr>
      )}
      {showFailure && (
        <tr className="models-progress-row">
          <td colSpan={5}>
            <PanelError data-testid="model-failure" data-model-id={model.id} onDismiss={() => dismissFailure(model.id)}>
              {failure.message}
            </PanelError>
          </td>
        </tr>
      )}
    </>
  );
}

/** Ollama's installed chat models, and pulling a new one by name through Ollama with the same progress bar. */
function OllamaSection() {
  const catalog = useModels((state) => state.catalog);
  const progress = useModels((state) => state.progress);
  const failures = useModels((state) => state.failures);
  const pending = useModels((state) => state.pending);
  const pull = useModels((state) => state.pull);
  const cancel = useModels((state) => state.cancel);
  const use = useModels((state) => state.use);
  const dismissFailure = useModels((state) => state.dismissFailure);
  const [name, setName] = useState('');
  if (!catalog) return null;

  if (!catalog.ollama.reachable) {
    return (
      <p className="models-ollama-off" data-testid="ollama-unreachable">
        Ollama is not running at <code>{catalog.ollama.host}</code>. Start it to use its models here.
      </p>
    );
  }
  const installed = catalog.models.filter((model) => model.source === 'ollama');
  const known = new Set(catalog.models.map((model) => model.id));
  // Pulls through Ollama that are not installed models yet: shown by the name they were asked with.
  const pulling = Object.values(progress).filter((event) => !known.has(event.id));
  const pullFailures = Object.entries(failures).filter(([id, failure]) => !known.has(id) && failure.origin === ORIGIN);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = name.trim();
    if (trimmed === '') return;
    void pull(trimmed, { origin: ORIGIN, source: 'ollama' });
    setName('');
  };

  return (
    <div className="models-ollama" data-testid="ollama-section">
      <h3 className="models-subtitle">
        Ollama <span className="models-id">{catalog.ollama.host}</span>
      </h3>
      {installed.length === 0 ? (
        <p className="models-empty">No models installed in Ollama yet.</p>
      ) : (
        <ul className="item-list">
          {installed.map((model) => (
            <li key={model.id} data-testid="ollama-model" data-model-id={model.id} data-state={model.state}>
              <span>{model.id}</span>
              {model.sizeBytes !== null && <span className="models-id">{formatBytes(model.sizeBytes)}</span>}
              {model.state === 'active' ? (
                <span className="models-in-use">in use</span>
              ) : (
                <button
                  type="button"
                  className="button button--small"
                  data-testid="ollama-model-use"
                  disabled={pending[model.id] !== undefined}
                  onClick={() => void use({ id: model.id }, ORIGIN)}
                >
                  {pending[model.id] === 'use' ? 'Loading…' : 'Use'}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {pulling.map((event) => (
        <ModelDownloadProgress
          key={event.id}
          modelId={event.id}
          view={{ receivedBytes: event.receivedBytes, totalBytes: event.totalBytes, bytesPerSecond: event.bytesPerSecond, state: event.state }}
          cancelling={pending[event.id] === 'cancel'}
          onCancel={() => void cancel(event.id, ORIGIN)}
        />
      ))}
      {pullFailures.map(([id, failure]) => (
        <PanelError key={id} data-testid="model-failure" data-model-id={id} onDismiss={() => dismissFailure(id)}>
          {failure.message}
        </PanelError>
      ))}
      <form className="models-ollama-pull" onSubmit={submit}>
        <label>
          <span>Pull a model through Ollama</span>
          <input
            type="text"
            data-testid="ollama-pull-name"
            placeholder="qwen2.5:1.5b-instruct"
            spellCheck={false}
            value={name}
            onChange={(event) => setName(event.target.value)}
          />
        </label>
        <button type="submit" className="button button--small" data-testid="ollama-pull" disabled={name.trim() === ''}>
          Pull
        </button>
      </form>
    </div>
  );
}
