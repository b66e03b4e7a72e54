import type { StageStats } from '../../src-shared/contract/index.js';
import { useStats, type TurnStatsResult } from '../state/statsStore.dom.js';
import { formatDuration, formatMs, timeAxis } from '../state/timeAxis.js';
import { Panel, PanelButton } from './Panel.dom.js';

/** Opens and closes the performance panel. */
export function PerformanceButton() {
  const open = useStats((state) => state.open);
  const toggle = useStats((state) => state.toggle);
  return <PanelButton name="performance" label="Performance" open={open} onToggle={toggle} />;
}

const PERCENTILES = ['p50', 'p90', 'p95', 'p99'] as const;

/** Per-stage latency percentiles of the stored turns, and the last turn's stages as a waterfall. */
export function PerformancePanel() {
  const open = useStats((state) => state.open);
  const stats = useStats((state) => state.stats);
  const error = useStats((state) => state.error);
  const close = useStats((state) => state.close);
  if (!open) return null;
  return (
    <Panel name="performance" title="Performance" className="performance-panel" onClose={close}>
      {error !== null && (
        <p className="performance-error" data-testid="performance-error" role="alert">
          {error}
        </p>
      )}
      {stats === null ? (
        error === null && <p className="performance-empty">Loading…</p>
      ) : stats.stages.length === 0 ? (
        <p className="performance-empty" data-testid="performance-empty">
          No turns yet. Ask something and the time each stage took shows here.
        </p>
      ) : (
        <div className="performance-body">
          <StageStatsTable stats={stats} />
          <TurnWaterfall spans={stats.lastTurn} />
        </div>
      )}
    </Panel>
  );
}

function StageStatsTable({ stats }: { stats: TurnStatsResult }) {
  const recentByName = new Map(stats.recent.map((row) => [row.name, row]));
  const cells = (row: StageStats | undefined, prefix: string) => [
    <td key={`${prefix}count`} data-field={`${prefix}count`}>
      {row?.count ?? 0}
    </td>,
    ...PERCENTILES.map((p) => (
      <td key={`${prefix}${p}`} data-field={`${prefix}${p}`} data-ms={row?.[p] ?? ''}>
        {formatDuration(row?.[p] ?? null)}
      </td>
    )),
  ];
  return (
    <table className="stage-stats" data-testid="stage-stats">
      <caption>Time per stage, in ms</caption>
      <thead>
        <tr>
          <th rowSpan={2} scope="col">
            Stage
          </th>
          <th colSpan={5} scope="colgroup">
            All turns
          </th>
          <th colSpan={5} scope="colgroup">
            Last {stats.recentTurns} turns
          </th>
        </tr>
        <tr>
          {[0, 1].flatMap((group) =>
            ['turns', ...PERCENTILES].map((heading) => (
              <th key={`${group}${heading}`} scope="col">
                {heading}
              </th>
            )),
          )}
        </tr>
      </thead>
      <tbody>
        {stats.stages.map((row) => (
          <tr key={row.name} data-testid="stage-stats-row" data-stage={row.name}>
            <th scope="row">{row.name}</th>
            {cells(row, '')}
            {cells(recentByName.get(row.name), 'recent-')}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One row per stage of the last turn: a bar from its start to its end, on a time axis from when the turn began. */
function TurnWaterfall({ spans }: { spans: TurnStatsResult['lastTurn'] }) {
  if (spans.length === 0) return null;
  const axis = timeAxis(Math.max(...spans.map((span) => span.endMs)));
  const at = (ms: number) => `${(ms / axis.maxMs) * 100}%`;
  const gridlines = axis.ticks.map((tick) => <span key={tick} className="turn-waterfall-gridline" style={{ left: at(tick) }} />);
  return (
    <figure className="turn-waterfall" data-testid="turn-waterfall" data-turn-id={spans[0]!.turnId} data-axis-ms={axis.maxMs}>
      <figcaption className="turn-waterfall-caption">Last turn, from when the question was received</figcaption>
      {spans.map((span) => (
        <div key={span.name} className="turn-waterfall-row" data-testid="turn-waterfall-row" data-stage={span.name}>
          <span className="turn-waterfall-label">{span.name}</span>
          <span className="turn-waterfall-track" data-testid="turn-waterfall-track">
            {gridlines}
            <span
              className={`turn-waterfall-bar turn-waterfall-bar--${span.name.replace(/[^a-z0-9-]/gi, '')}`}
              data-testid="turn-waterfall-bar"
              data-start-ms={span.startMs}
              data-end-ms={span.endMs}
              title={`${span.name}: ${formatMs(span.startMs)} → ${formatMs(span.endMs)}`}
              style={{ left: at(span.startMs), width: at(Math.max(0, span.endMs - span.startMs)) }}
            />
          </span>
          <span className="turn-waterfall-ms">{formatMs(span.endMs - span.startMs)}</span>
        </div>
      ))}
      <div className="turn-waterfall-row turn-waterfall-axis" aria-hidden="true">
        <span />
        <span className="turn-waterfall-ticks" data-testid="turn-waterfall-axis">
          {axis.ticks.map((tick) => (
            <span key={tick} className="turn-waterfall-tick" style={{ left: at(tick) }}>
              {tick}
            </span>
          ))}
        </span>
        <span className="turn-waterfall-ms">ms</span>
      </div>
    </figure>
  );
}
