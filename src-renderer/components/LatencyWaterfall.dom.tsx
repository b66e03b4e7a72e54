import { useVoice } from '../state/voiceStoreContext.dom.js';

interface Stage {
  key: string;
  label: string;
  ms: number | null;
  /** Shown instead of the time (the answer prepared before the end of speech). */
  note?: string;
}

/** How long each stage of the latest voice turn took, from the end of the user's speech, as a waterfall of bars. */
export function LatencyWaterfall() {
  const waterfall = useVoice((state) => state.waterfall);
  if (!waterfall) return null;
  const prepared = waterfall.preparedMs ?? null;
  const stages: Stage[] = [
    { key: 'transcript', label: 'Transcript', ms: waterfall.transcriptMs },
    {
      key: 'prepared',
      label: waterfall.speculation === 'adopted' ? 'Prepared early' : 'Prepared',
      // Prepared during your pause, before the turn ended: no bar, and how early it was.
      ms: prepared === null ? null : Math.max(0, prepared),
      ...(prepared !== null && prepared < 0 && { note: `${Math.round(-prepared)} ms before` }),
    },
    { key: 'first-token', label: 'First token', ms: waterfall.firstTokenMs },
    { key: 'first-sentence', label: 'First sentence', ms: waterfall.firstSentenceMs },
    { key: 'first-audio', label: 'First audio', ms: waterfall.firstAudioMs },
  ];
  const longest = Math.max(1, ...stages.map((stage) => stage.ms ?? 0));
  let previousMs = 0;
  return (
    <figure className="waterfall" data-testid="latency-waterfall" data-turn-id={waterfall.turnId}>
      <figcaption className="waterfall-caption">Latency from the end of your speech</figcaption>
      {stages.map((stage) => {
        const startMs = previousMs;
        if (stage.ms !== null) previousMs = Math.max(previousMs, stage.ms);
        return (
          <div
            key={stage.key}
            className="waterfall-row"
            data-testid="waterfall-row"
            data-stage={stage.key}
            data-ms={stage.ms ?? ''}
            {...(stage.key === 'prepared' && { 'data-speculation': waterfall.speculation ?? 'none' })}
          >
            <span className="waterfall-label">{stage.label}</span>
            <span className="waterfall-track">
              {stage.ms !== null && (
                <span
                  className="waterfall-bar"
                  style={{ left: `${(startMs / longest) * 100}%`, width: `${(Math.max(0, stage.ms - startMs) / longest) * 100}%` }}
                />
              )}
            </span>
            <span className="waterfall-ms">{stage.note ?? (stage.ms === null ? '—' : `${Math.round(stage.ms)} ms`)}</span>
          </div>
        );
      })}
    </figure>
  );
}
