import { describe, expect, it } from 'vitest';
import type { CouncilEvent } from '../../src-shared/contract/index.js';
import { councilOutcomeLabel, councilView, routeLabel, withCouncilEvent, type CouncilsByTurn } from './councilView.js';

const base = { type: 'council' as const, turnId: 't1' };
const answer = (seq: number, n: number, turnId = 't1'): CouncilEvent => ({
  ...base,
  turnId,
  stage: 1,
  seq,
  model: `stories260K #${n}`,
  kind: 'answer',
  memberId: `m${n}`,
  text: `Answer ${n}`,
  ms: 120 * n,
});
const ranking = (seq: number, n: number, extra: Partial<CouncilEvent> = {}): CouncilEvent => ({
  ...base,
  stage: 2,
  seq,
  model: `stories260K #${n}`,
  kind: 'ranking',
  memberId: `m${n}`,
  ranking: [],
  usable: false,
  reason: 'unparseable',
  late: false,
  ms: 50,
  ...extra,
});

function addAll(events: CouncilEvent[], known = (_turnId: string) => true, keep?: number): CouncilsByTurn {
  return events.reduce<CouncilsByTurn>((councils, event) => withCouncilEvent(councils, event, known(event.turnId), keep), {});
}

describe('council events per turn', () => {
  it('keeps a turn’s events in order, each turn apart', () => {
    const councils = addAll([answer(1, 1), answer(2, 2), answer(1, 1, 't2'), answer(3, 3)]);
    expect(councils.t1!.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(councils.t2!.map((e) => e.seq)).toEqual([1]);
  });

  it('ignores the events of a turn it does not know, and keeps those of a turn whose council it already keeps', () => {
    const unknown = withCouncilEvent({}, answer(1, 1), false);
    expect(unknown).toEqual({});
    // Known when its first event came (shown then); the view moved to another conversation since: it goes on.
    const started = withCouncilEvent({}, answer(1, 1), true);
    const continued = withCouncilEvent(started, answer(2, 2), false);
    expect(continued.t1!.map((e) => e.seq)).toEqual([1, 2]);
  });

  it('puts an event that arrives out of order in its place by seq, and ignores a repeated seq', () => {
    const councils = addAll([answer(1, 1), answer(3, 3), answer(2, 2), answer(2, 2), ranking(5, 1), ranking(4, 2)]);
    expect(councils.t1!.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(councils.t1!.filter((e) => e.seq === 2)).toHaveLength(1);
    // A repeat changes nothing: the same object, so the store does not re-render.
    expect(withCouncilEvent(councils, answer(3, 3), true)).toBe(councils);
  });

  it('keeps the councils of the last turns only', () => {
    const councils = addAll([answer(1, 1, 'a'), answer(1, 1, 'b'), answer(2, 2, 'a'), answer(1, 1, 'c')], () => true, 2);
    expect(Object.keys(councils)).toEqual(['b', 'c']);
    // The oldest turn first seen goes, even if it had the latest event before the new turn came.
    expect(withCouncilEvent(councils, answer(3, 3, 'a'), false, 2)).toBe(councils);
  });
});

describe('the council view of a turn', () => {
  it('shows answers, a ranking row per reviewer (usable or why not, late), the standings and notices', () => {
    const view = councilView([
      answer(1, 1),
      answer(2, 2),
      answer(3, 3),
      ranking(4, 1, { usable: true, reason: undefined, ranking: [{ memberId: 'm3', model: 'stories260K #3' }, { memberId: 'm2', model: 'stories260K #2' }] }),
      ranking(5, 2),
      {
        ...base,
        stage: 2,
        seq: 6,
        model: 'council',
        kind: 'aggregate',
        method: 'rankings',
        table: [
          { memberId: 'm2', model: 'stories260K #2', position: 2, score: 0, votes: 1 },
          { memberId: 'm3', model: 'stories260K #3', position: 1, score: 1, votes: 1 },
          { memberId: 'm1', model: 'stories260K #1', position: 3, score: 0.5, votes: 0 },
        ],
        rankingsUsed: 1,
        rankingsExpected: 3,
      },
      ranking(7, 3, { reason: 'timed out', late: true }),
      { ...base, stage: 3, seq: 8, model: 'council', kind: 'notice', code: 'chairman-failed', level: 'warning', message: 'The chairman failed.' },
    ]);
    expect(view.answers.map((a) => [a.model, a.text, a.ms])).toEqual([
      ['stories260K #1', 'Answer 1', 120],
      ['stories260K #2', 'Answer 2', 240],
      ['stories260K #3', 'Answer 3', 360],
    ]);
    expect(view.rankings).toMatchObject([
      { model: 'stories260K #1', usable: true, ranked: ['stories260K #3', 'stories260K #2'], late: false },
      { model: 'stories260K #2', usable: false, ranked: [], reason: 'unparseable', late: false },
      { model: 'stories260K #3', usable: false, reason: 'timed out', late: true },
    ]);
    expect(view.aggregate).toMatchObject({ method: 'rankings', methodLabel: 'by rankings', rankingsUsed: 1, rankingsExpected: 3 });
    expect(view.aggregate!.table.map((s) => [s.position, s.model])).toEqual([
      [1, 'stories260K #3'],
      [2, 'stories260K #2'],
      [3, 'stories260K #1'],
    ]);
    expect(view.notices).toEqual([{ seq: 8, code: 'chairman-failed', level: 'warning', message: 'The chairman failed.' }]);
  });

  it('names how the standings were made', () => {
    const aggregate = (method: 'rankings' | 'agreement' | 'order'): CouncilEvent => ({ ...base, stage: 2, seq: 1, model: 'council', kind: 'aggregate', method, table: [] });
    expect(councilView([aggregate('agreement')]).aggregate?.methodLabel).toBe('by agreement (no ranking was usable)');
    expect(councilView([aggregate('order')]).aggregate?.methodLabel).toBe('in order');
    expect(councilView([]).aggregate).toBeNull();
  });
});

describe('the answer footer labels', () => {
  it('says which tier answered and why', () => {
    expect(routeLabel({ choice: 'auto', tier: 'fast', reason: 'voice question' })).toBe('fast · voice question');
    expect(routeLabel({ choice: 'balanced', tier: 'balanced', reason: '' })).toBe('balanced');
  });

  it('says whose text a council’s answer is', () => {
    const members = ['a #1', 'a #2', 'a #3'];
    expect(councilOutcomeLabel({ members, source: 'chairman' })).toBe('council of 3 (chairman)');
    expect(councilOutcomeLabel({ members, source: 'top-answer' })).toBe('council: top answer (chairman failed)');
    expect(councilOutcomeLabel({ members, source: 'sole-member' })).toBe('council: only one member answered');
  });
});
