import type { CatalogModel } from '../../src-shared/contract/index.js';
import { downloadView, formatBytes, modelDisplayName } from '../state/modelFormat.js';
import { useModels } from '../state/modelsStore.dom.js';
import { useVoice } from '../state/voiceStoreContext.dom.js';
import { ModelDownloadProgress } from './ModelDownloadProgress.dom.js';

const ORIGIN = 'voice';

/**
 * In the voice settings: the Whisper models, offered like the chat model ("Better recognition: Whisper base.en,
 * 141 MB" → Download, then Use). The one listening now is named; the others can be downloaded or switched to.
 */
export function WhisperModelOffer() {
  const catalog = useModels((state) => state.catalog);
  const actionError = useModels((state) => (state.actionError?.origin === ORIGIN ? state.actionError.message : null));
  // The recogniser loads when the assistant starts: a Whisper model chosen now listens from the next start.
  const running = useVoice((state) => state.status?.stt.engine ?? null);
  const whisper = catalog?.models.filter((model) => model.role === 'stt-whisper' && (!model.testOnly || model.state !== 'missing')) ?? [];
  if (whisper.length === 0) return null;
  const active = whisper.find((model) => model.state === 'active');
  // The default first: it is the one recommended.
  const offered = whisper.filter((model) => model !== active).sort((a, b) => Number(b.isDefault) - Number(a.isDefault));

  return (
    <div className="whisper-offer" data-testid="whisper-offer">
      {active && (
        <p className="whisper-offer-active" data-testid="whisper-active">
          Speech recognition: {modelDisplayName(active)}
          {running !== null && running !== 'whisper' && ` (chosen; used from the next start, ${running} listens until then)`}
        </p>
      )}
      {offered.map((model) => (
        <WhisperOfferRow key={model.id} model={model} recommended={!active && model.isDefault} />
      ))}
      {actionError !== null && (
        <p className="voice-status-message" data-testid="whisper-offer-error" role="alert">
          {actionError}
        </p>
      )}
    </div>
  );
}

function WhisperOfferRow({ model, recommended }: { model: CatalogModel; recommended: boolean }) {
  const progress = useModels((state) => state.progress[model.id]);
  const failure = useModels((state) => (state.failures[model.id]?.origin === ORIGIN ? state.failures[model.id] : undefined));
  const pending = useModels((state) => state.pending[model.id]);
  const pull = useModels((state) => state.pull);
  const cancel = useModels((state) => state.cancel);
  const use = useModels((state) => state.use);
  const view = downloadView(model, progress);
  const size = model.sizeBytes === null ? '' : `, ${formatBytes(model.sizeBytes)}`;

  return (
    <div className="whisper-offer-row" data-testid="whisper-offer-row" data-model-id={model.id} data-state={view ? 'downloading' : model.state}>
      <span className="whisper-offer-label" title={model.description}>
        {recommended ? 'Better recognition: ' : ''}
        {modelDisplayName(model)}
        {size}
      </span>
      {view ? (
        <ModelDownloadProgress modelId={model.id} view={view} cancelling={pending === 'cancel'} onCancel={() => void cancel(model.id, ORIGIN)} />
      ) : model.state === 'ready' ? (
        <button type="button" className="button button--small" data-testid="whisper-use" disabled={pending !== undefined} onClick={() => void use({ id: model.id }, ORIGIN)}>
          {pending === 'use' ? 'Loading…' : 'Use'}
        </button>
      ) : (
        <button
          type="button"
          className="button button--small"
          data-testid="whisper-download"
          disabled={pending !== undefined}
          onClick={() => void pull(model.id, { origin: ORIGIN })}
        >
          {failure ? 'Retry' : 'Download'}
        </button>
      )}
      {failure && !view && (
        <p className="voice-status-message" data-testid="whisper-offer-failure" role="alert">
          {failure.message}
        </p>
      )}
    </div>
  );
}
