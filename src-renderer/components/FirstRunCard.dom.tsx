import { useChat } from '../state/chatStoreContext.dom.js';
import { downloadView, formatBytes, modelDisplayName } from '../state/modelFormat.js';
import { defaultModel, useModels } from '../state/modelsStore.dom.js';
import { ModelDownloadProgress } from './ModelDownloadProgress.dom.js';
import { ModelFileChooser } from './ModelFileChooser.dom.js';

/**
 * Whether the first-run card is on screen: the chat model is missing (and the host can list models), or the user took
 * one of the card's actions and the model is not answering yet. While it is, it is the one place that says so: the
 * status badge and the error banner leave the model's problem to it.
 */
export function useFirstRunCardShown(): boolean {
  const llmState = useChat((state) => state.modelStatus?.state);
  const hasCatalog = useModels((state) => state.catalog !== null);
  const engaged = useModels((state) => state.firstRunEngaged);
  if (!hasCatalog || llmState === undefined) return false;
  return llmState === 'missing' || (engaged && llmState !== 'warm');
}

const ORIGIN = 'first-run';

/**
 * Instead of a red "model not found": the default chat model with its size and license and a Download button, "Use
 * Ollama" when Ollama runs, and "I have a model file". A download shows its progress here; once the model is warm the
 * card goes away and the chat below works, in the same page.
 */
export function FirstRunCard() {
  const shown = useFirstRunCardShown();
  const status = useChat((state) => state.modelStatus);
  const catalog = useModels((state) => state.catalog);
  // The chat model the agent looked for (a saved choice, or the manifest's default); else the default to offer.
  const missingId = status?.state === 'missing' ? status.missingModelId : undefined;
  const model = (missingId && catalog?.models.find((candidate) => candidate.id === missingId)) || defaultModel(catalog, 'llm');
  const progress = useModels((state) => (model ? state.progress[model.id] : undefined));
  const failure = useModels((state) => (model ? state.failures[model.id] : undefined));
  const pending = useModels((state) => state.pending);
  const actionError = useModels((state) => (state.actionError?.origin === ORIGIN ? state.actionError.message : null));
  const ollamaFailure = useModels((state) =>
    Object.values(state.failures).find((candidate) => candidate.origin === ORIGIN && candidate !== (model && state.failures[model.id])),
  );
  const pull = useModels((state) => state.pull);
  const cancel = useModels((state) => state.cancel);
  const use = useModels((state) => state.use);
  const useOllama = useModels((state) => state.useOllama);
  const engageFirstRun = useModels((state) => state.engageFirstRun);
  if (!shown || !catalog || !status) return null;

  const view = model ? downloadView(model, progress) : null;
  const anyPending = Object.keys(pending).length > 0;
  const showFailure = failure && (failure.origin === undefined || failure.origin === ORIGIN) && !view;
  const ollamaModels = catalog.models.filter((candidate) => candidate.source === 'ollama' && candidate.role === 'llm');
  const download = () => {
    if (!model) return;
    engageFirstRun();
    void pull(model.id, { origin: ORIGIN });
  };
  const useFile = (path: string) => {
    engageFirstRun();
    return use({ path }, ORIGIN);
  };

  let body;
  if (status.state === 'loading') {
    body = (
      <p className="first-run-loading" data-testid="first-run-loading" role="status">
        Loading {status.model ?? 'the model'}… The chat is ready in a moment.
      </p>
    );
  } else if (view && model) {
    body = <ModelDownloadProgress modelId={model.id} view={view} cancelling={pending[model.id] === 'cancel'} onCancel={() => void cancel(model.id, ORIGIN)} />;
  } else if (model) {
    const resumable = model.state === 'missing' && (model.receivedBytes ?? 0) > 0;
    body = (
      <div className="first-run-actions">
        {model.state === 'ready' ? (
          <button
            type="button"
            className="button button--primary"
            data-testid="first-run-use"
            disabled={anyPending}
            onClick={() => {
              engageFirstRun();
              void use({ id: model.id }, ORIGIN);
            }}
          >
            Use {modelDisplayName(model)}
          </button>
        ) : (
          <button type="button" className="button button--primary" data-testid="first-run-download" disabled={anyPending} onClick={download}>
            {showFailure ? 'Retry' : resumable ? 'Resume download' : 'Download'}
            {model.sizeBytes !== null && !resumable && !showFailure && ` (${formatBytes(model.sizeBytes)})`}
          </button>
        )}
        {resumable && model.sizeBytes !== null && (
          <span className="first-run-resume-note" data-testid="first-run-resume-note">
            {formatBytes(model.receivedBytes ?? 0)} of {formatBytes(model.sizeBytes)} already downloaded
          </span>
        )}
      </div>
    );
  }

  return (
    <section className="first-run-card" data-testid="first-run-card" aria-labelledby="first-run-title">
      <h2 className="first-run-title" id="first-run-title">
        {model ? 'Download a chat model to start' : 'Choose a chat model to start'}
      </h2>
      <p className="first-run-intro">
        The assistant answers with a language model that runs on this computer. Nothing is downloaded until you ask.
      </p>
      {model && (
        <div className="first-run-model" data-testid="first-run-model" data-model-id={model.id}>
          <strong className="first-run-model-name">{modelDisplayName(model)}</strong>
          <span className="first-run-model-facts" data-testid="first-run-model-facts">
            {[model.sizeBytes !== null ? formatBytes(model.sizeBytes) : null, model.license ? `${model.license} license` : null]
              .filter(Boolean)
              .join(' · ')}
          </span>
          <p className="first-run-model-description">{model.description}</p>
        </div>
      )}
      {/* A missing manifest model is what this card is about; a missing file the user named, or a model that
          failed to load, is worth its own words. */}
      {status.message && (status.state === 'error' || (status.state === 'missing' && status.missingModelId === undefined)) && (
        <p className="first-run-problem" data-testid="first-run-problem" role="alert">
          {status.message}
        </p>
      )}
      {showFailure && (
        <p className="first-run-problem" data-testid="first-run-failure" role="alert">
          {failure.message}
        </p>
      )}
      {ollamaFailure && !showFailure && (
        <p className="first-run-problem" data-testid="first-run-failure" role="alert">
          {ollamaFailure.message}
        </p>
      )}
      {actionError !== null && (
        <p className="first-run-problem" data-testid="first-run-action-error" role="alert">
          {actionError}
        </p>
      )}
      {body}
      {status.state !== 'loading' && (
        <div className="first-run-alternatives">
          {catalog.ollama.reachable && (
            <button
              type="button"
              className="button"
              data-testid="first-run-ollama"
              disabled={anyPending}
              title={ollamaModels.length > 0 ? `Ollama at ${catalog.ollama.host} has ${ollamaModels.map((m) => m.id).join(', ')}` : undefined}
              onClick={() => {
                engageFirstRun();
                void useOllama(ORIGIN);
              }}
            >
              Use Ollama
            </button>
          )}
          <ModelFileChooser role="llm" busy={anyPending} onUse={useFile} />
        </div>
      )}
    </section>
  );
}
