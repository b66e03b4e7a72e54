import { describe, expect, it } from 'vitest';
import { buildRankingPrompt } from './rankingPrompt.js';

const answers = ['m1', 'm2', 'm3', 'm4', 'm5'].map((memberId) => ({ memberId, text: `the answer of ${memberId}` }));

describe('buildRankingPrompt', () => {
  it("shows a reviewer every other member's answer once, anonymised, never its own", () => {
    const prompt = buildRankingPrompt({ question: 'Why is the sky blue?', reviewerId: 'm2', answers, seed: 7 });
    expect([...prompt.labels.keys()]).toEqual(['A', 'B', 'C', 'D']);
    expect([...prompt.labels.values()].sort()).toEqual(['m1', 'm3', 'm4', 'm5']);
    expect(prompt.question).not.toContain('the answer of m2');
    // Nothing but the answers' own texts could tell the reviewer whose they are.
    expect(prompt.question.replace(/the answer of m\d/g, '')).not.toMatch(/m[1-5]/);
    expect(prompt.question).toContain('Why is the sky blue?');
    for (const [label, memberId] of prompt.labels) expect(prompt.question).toContain(`Response ${label}:\n> the answer of ${memberId}`);
    expect(prompt.question).toMatch(/FINAL RANKING:\n1\. Response <letter>\n2\. Response <letter>\n3\. Response <letter>\n4\. Response <letter>$/);
  });

  it('is the same for the same seed, and shuffled differently for different reviewers', () => {
    const order = (reviewerId: string, seed: number) => [...buildRankingPrompt({ question: 'q', reviewerId, answers, seed }).labels.values()];
    expect(order('m1', 42)).toEqual(order('m1', 42));
    // Over many seeds, two reviewers who see the same four answers do not always see them in the same order.
    const others = answers.filter((answer) => answer.memberId !== 'm1' && answer.memberId !== 'm2');
    const common = (reviewerId: string, seed: number) => order(reviewerId, seed).filter((id) => others.some((answer) => answer.memberId === id));
    const differing = Array.from({ length: 50 }, (_, seed) => common('m1', seed).join() !== common('m2', seed).join()).filter(Boolean).length;
    expect(differing).toBeGreaterThan(25);
  });

  it('puts each answer first about equally often across seeds (no position bias)', () => {
    const firsts = new Map<string, number>();
    for (let seed = 0; seed < 2000; seed++) {
      const first = buildRankingPrompt({ question: 'q', reviewerId: 'm1', answers, seed }).labels.get('A')!;
      firsts.set(first, (firsts.get(first) ?? 0) + 1);
    }
    expect([...firsts.keys()].sort()).toEqual(['m2', 'm3', 'm4', 'm5']);
    for (const count of firsts.values()) expect(count).toBeGreaterThan(400);
  });
});
