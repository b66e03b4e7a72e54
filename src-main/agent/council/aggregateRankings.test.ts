import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateCouncil, aggregateRankings, cosine, rankByAgreement, type ReviewerRanking } from './aggregateRankings.js';

const members = ['m1', 'm2', 'm3'];
const ranking = (reviewerId: string, ranked: string[]): ReviewerRanking => ({
  reviewerId,
  candidates: members.filter((id) => id !== reviewerId),
  ranked,
});
const order = (table: { memberId: string }[]) => table.map((standing) => standing.memberId);

describe('aggregateRankings', () => {
  it('puts the answer the reviewers rank highest first', () => {
    const table = aggregateRankings(members, [ranking('m1', ['m3', 'm2']), ranking('m2', ['m3', 'm1']), ranking('m3', ['m2', 'm1'])]);
    expect(order(table)).toEqual(['m3', 'm2', 'm1']);
    expect(table.map((standing) => standing.position)).toEqual([1, 2, 3]);
    expect(table[0]).toMatchObject({ memberId: 'm3', score: 1, votes: 2 });
  });

  it("never counts a reviewer's vote for its own answer", () => {
    // m1 puts itself first: ignored; its ranking still counts for the others.
    const selfish: ReviewerRanking = { reviewerId: 'm1', candidates: members, ranked: ['m1', 'm3', 'm2'] };
    const table = aggregateRankings(members, [selfish, ranking('m2', ['m3', 'm1'])]);
    const m1 = table.find((standing) => standing.memberId === 'm1')!;
    expect(m1.votes).toBe(1);
    expect(order(table)[0]).toBe('m3');
  });

  it('treats the answers a partial ranking leaves out as tied last', () => {
    const four = ['m1', 'm2', 'm3', 'm4'];
    const table = aggregateRankings(four, [{ reviewerId: 'm1', candidates: ['m2', 'm3', 'm4'], ranked: ['m4'] }]);
    const score = (id: string) => table.find((standing) => standing.memberId === id)!.score;
    expect(score('m4')).toBe(1);
    expect(score('m2')).toBe(score('m3'));
    expect(score('m2')).toBeLessThan(score('m4'));
  });

  it('breaks ties by votes, then by member order, the same way every time', () => {
    // Every answer is ranked first once and second once: all tie; the member order decides.
    const tie = aggregateRankings(members, [ranking('m1', ['m2', 'm3']), ranking('m2', ['m3', 'm1']), ranking('m3', ['m1', 'm2'])]);
    expect(order(tie)).toEqual(['m1', 'm2', 'm3']);
    fc.assert(
      fc.property(fc.shuffledSubarray(members, { minLength: 3, maxLength: 3 }), (shuffled) => {
        const rankings = [ranking('m1', ['m2', 'm3']), ranking('m2', ['m3', 'm1']), ranking('m3', ['m1', 'm2'])];
        expect(order(aggregateRankings(members, shuffled.map((id) => rankings.find((r) => r.reviewerId === id)!)))).toEqual(order(tie));
      }),
    );
  });
});

describe('rankByAgreement: the fallback when no ranking is usable', () => {
  it('puts the answer closest to the others first and the outlier last', () => {
    const table = rankByAgreement(members, [
      [1, 0.1, 0],
      [0.9, 0.2, 0],
      [0, 0, 1],
    ]);
    expect(order(table)).toEqual(['m1', 'm2', 'm3']);
    expect(table[2]!.score).toBeLessThan(0.1);
  });

  it('computes cosine similarity', () => {
    expect(cosine([1, 0], [1, 0])).toBeCloseTo(1);
    expect(cosine([1, 0], [0, 2])).toBeCloseTo(0);
    expect(cosine([0, 0], [1, 1])).toBe(0);
  });
});

describe('aggregateCouncil', () => {
  const answers = members.map((memberId) => ({ memberId, text: `answer ${memberId}` }));
  const embed = async (texts: string[]) => texts.map((text) => (text.endsWith('m3') ? [0, 1] : [1, 0.1]));

  it('uses the rankings when there are any', async () => {
    const aggregate = await aggregateCouncil({ answers, rankings: [ranking('m1', ['m3', 'm2'])], embed });
    expect(aggregate.method).toBe('rankings');
    expect(aggregate.fallbackReason).toBeUndefined();
    expect(order(aggregate.table)[0]).toBe('m3');
  });

  it('ranks by agreement without usable rankings', async () => {
    const aggregate = await aggregateCouncil({ answers, rankings: [], embed });
    expect(aggregate.method).toBe('agreement');
    expect(order(aggregate.table)).toEqual(['m1', 'm2', 'm3']);
  });

  it('keeps the members in order when embedding fails too', async () => {
    const aggregate = await aggregateCouncil({ answers, rankings: [], embed: async () => Promise.reject(new Error('no embedder')) });
    expect(aggregate.method).toBe('order');
    expect(aggregate.fallbackReason).toContain('no embedder');
    expect(order(aggregate.table)).toEqual(members);
  });
});
