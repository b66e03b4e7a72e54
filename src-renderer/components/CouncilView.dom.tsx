import { useMemo } from 'react';
import { councilView, type CouncilRankingView, type CouncilView as CouncilViewModel } from '../state/councilView.js';
import { useChat } from '../state/chatStoreContext.dom.js';

const NO_EVENTS: never[] = [];

/**
 * A council turn's pieces above its answer, each as soon as it is in: the members' answers (collapsed), who ranked
 * whom, the standings the chairman worked from, and the council's notices. The final answer itself is the message's
 * text, streamed as usual. Nothing for a turn that was not a council's.
 */
export function CouncilView({ turnId, streaming }: { turnId: string; streaming: boolean }) {
  const events = useChat((state) => state.councils[turnId] ?? NO_EVENTS);
  const view = useMemo(() => councilView(events), [events]);
  if (events.length === 0) return null;
  return (
    // Open by default (its pieces are what there is to see until the answer streams); the user may fold it away.
    <details className="council" data-testid="council-view" open>
      <summary className="council-header">
        <span className="council-title">Council</span>
        <span className="council-phase">{phase(view, streaming)}</span>
      </summary>

      {view.answers.length > 0 && (
        <div className="council-answers">
          {view.answers.map((answer) => (
            <details key={answer.seq} className="council-answer" data-testid="council-answer" data-model={answer.model}>
              <summary>
                <span className="council-member">{answer.model}</span>
                {answer.ms !== null && <span className="council-ms">{formatMs(answer.ms)}</span>}
              </summary>
              <div className="council-answer-text">{answer.text === '' ? <em>(empty answer)</em> : answer.text}</div>
            </details>
          ))}
        </div>
      )}

      {view.rankings.length > 0 && (
        <table className="council-table council-rankings" data-testid="council-rankings">
          <caption>Rankings (best first)</caption>
          <thead>
            <tr>
              <th scope="col">Reviewer</th>
              <th scope="col">Ranked</th>
            </tr>
          </thead>
          <tbody>
            {view.rankings.map((ranking) => (
              <RankingRow key={ranking.seq} ranking={ranking} />
            ))}
          </tbody>
        </table>
      )}

      {view.aggregate && (
        <table className="council-table council-aggregate" data-testid="council-aggregate" data-method={view.aggregate.method}>
          <caption>
            Standings, {view.aggregate.methodLabel}
            {view.aggregate.method === 'rankings' && view.aggregate.rankingsUsed !== null && view.aggregate.rankingsExpected !== null && (
              <span className="council-ms">
                {' '}
                ({view.aggregate.rankingsUsed} of {view.aggregate.rankingsExpected} rankings)
              </span>
            )}
          </caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Model</th>
              <th scope="col">Score</th>
            </tr>
          </thead>
          <tbody>
            {view.aggregate.table.map((standing) => (
              <tr key={standing.memberId} data-testid="council-standing" data-model={standing.model}>
                <td className="council-position">{standing.position}</td>
                <td>{standing.model}</td>
                <td className="council-score">
                  {view.aggregate!.method === 'order' ? '–' : standing.score.toFixed(2)}
                  {view.aggregate!.method === 'rankings' && <span className="council-ms"> · {votes(standing.votes)}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {view.notices.map((notice) => (
        <p key={notice.seq} className={`council-notice council-notice--${notice.level}`} data-testid="council-notice" data-code={notice.code ?? undefined} role="note">
          {notice.message}
        </p>
      ))}
    </details>
  );
}

function RankingRow({ ranking }: { ranking: CouncilRankingView }) {
  return (
    <tr data-testid="council-ranking" data-model={ranking.model} data-usable={String(ranking.usable)} data-late={String(ranking.late)}>
      <th scope="row" className="council-member">
        {ranking.model}
      </th>
      <td>
        {ranking.usable ? (
          <ol className="council-ranked">
            {ranking.ranked.map((model, index) => (
              <li key={`${index}:${model}`}>{model}</li>
            ))}
          </ol>
        ) : (
          <span className="council-unusable">no usable ranking{ranking.reason ? ` (${ranking.reason})` : ''}</span>
        )}
        {ranking.late && (
          <span className="tag council-late" title="In after the chairman had started: shown, but not counted">
            late
          </span>
        )}
      </td>
    </tr>
  );
}

function phase(view: CouncilViewModel, streaming: boolean): string {
  if (!streaming) return `${view.answers.length} ${view.answers.length === 1 ? 'answer' : 'answers'}`;
  if (view.aggregate) return 'The chairman is writing the answer…';
  if (view.rankings.length > 0) return 'Members are ranking the answers…';
  return 'Members are answering…';
}

function votes(count: number): string {
  return `${count} ${count === 1 ? 'vote' : 'votes'}`;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
