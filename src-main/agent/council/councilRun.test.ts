import { describe, expect, it, vi } from 'vitest';
import { AgentError } from '../../../src-shared/contract/index.js';
import { Gate } from '../../testing/gate.js';
import { ScriptedLlm } from '../../testing/scriptedLlm.js';
import type { AgentLogger } from '../agentLogger.js';
import type { LlmGenerateResult } from '../llm/llmProvider.js';
import type { CouncilEvent, CouncilRankingEvent } from './councilEvents.js';
import { councilMembersFrom, type CouncilGenerateRequest, type CouncilMember, type CouncilProviderRequest } from './councilMember.js';
import { runCouncil, type CouncilRunOptions } from './councilRun.js';
import { RANKING_SYSTEM_PROMPT } from './rankingPrompt.js';
import { SYNTHESIS_SYSTEM_PROMPT } from './synthesisPrompt.js';

type Step = 'answer' | 'ranking' | 'synthesis';

/** What a scripted member sees when asked to rank: the anonymised answers, as the prompt shows them. */
interface Shown {
  label: string;
  text: string;
}

interface Script {
  answer?: string | Error;
  /** The reply to a ranking prompt. Default: a well-formed ranking in the order the answers were shown. */
  ranking?: string | ((shown: Shown[]) => string);
  /** The chairman's synthesis, streamed chunk by chunk; an Error fails it after the chunks before it. */
  synthesis?: (string | Error)[];
  concurrency?: CouncilMember['concurrency'];
}

/**
 * A fake council member: answers, rankings and syntheses are scripted, and each step waits at its own gate so a test
 * decides when it completes. A closed gate that is never opened is a member that hangs (until its signal aborts).
 */
class ScriptedCouncilMember implements CouncilMember {
  readonly concurrency: CouncilMember['concurrency'];
  readonly gates: Record<Step, Gate> = { answer: new Gate(), ranking: new Gate(), synthesis: new Gate() };
  /** Steps that started, with their signals. */
  readonly started: { step: Step; signal: AbortSignal; request: CouncilGenerateRequest }[] = [];

  constructor(
    readonly id: string,
    readonly label: string,
    private readonly script: Script = {},
    private readonly journal: string[] = [],
  ) {
    this.concurrency = script.concurrency ?? 'parallel';
  }

  async generate(request: CouncilGenerateRequest): Promise<LlmGenerateResult> {
    const step: Step =
      request.systemPrompt === RANKING_SYSTEM_PROMPT ? 'ranking' : request.systemPrompt.includes(SYNTHESIS_SYSTEM_PROMPT) ? 'synthesis' : 'answer';
    this.started.push({ step, signal: request.signal, request });
    this.journal.push(`${this.id} ${step} start`);
    const stopped = () => new AgentError('CANCELLED', 'stopped');
    try {
      await this.gates[step].wait(request.signal, stopped);
      const text = this.reply(step, request);
      this.journal.push(`${this.id} ${step} end`);
      return { text, tokens: 1, aborted: false };
    } catch (error) {
      this.journal.push(`${this.id} ${step} ${request.signal.aborted ? 'stopped' : 'failed'}`);
      if (request.signal.aborted) return { text: '', tokens: 0, aborted: true };
      throw error;
    }
  }

  private reply(step: Step, request: CouncilGenerateRequest): string {
    if (step === 'answer') {
      const answer = this.script.answer ?? `${this.label} says hello`;
      if (answer instanceof Error) throw answer;
      return answer;
    }
    if (step === 'ranking') {
      const shown = [...request.question.matchAll(/^Response ([A-Z]):\n(.*)$/gm)].map((match) => ({ label: match[1]!, text: match[2]! }));
      const ranking = this.script.ranking ?? ((answers: Shown[]) => finalRanking(answers.map((answer) => answer.label)));
      return typeof ranking === 'string' ? ranking : ranking(shown);
    }
    let text = '';
    for (const chunk of this.script.synthesis ?? ['The ', 'final ', 'answer.']) {
      if (chunk instanceof Error) throw chunk;
      text += chunk;
      request.onToken(chunk);
    }
    return text;
  }
}

const finalRanking = (labels: string[]) => `Some thoughts.\nFINAL RANKING:\n${labels.map((label, i) => `${i + 1}. Response ${label}`).join('\n')}`;

/** A reviewer that ranks the answers by where their texts come in `texts`. */
const prefer =
  (...texts: string[]) =>
  (shown: Shown[]) =>
    finalRanking([...shown].sort((a, b) => place(texts, a.text) - place(texts, b.text)).map((answer) => answer.label));
const place = (texts: string[], text: string) => (texts.includes(text) ? texts.indexOf(text) : texts.length);

/** Collects a run's events; `next` waits for one that matches, with a deadline instead of a sleep. */
class EventLog {
  readonly events: CouncilEvent[] = [];
  private readonly waiters: { matches(event: CouncilEvent): boolean; resolve(event: CouncilEvent): void }[] = [];

  readonly onEvent = (event: CouncilEvent): void => {
    this.events.push(event);
    for (const waiter of this.waiters.filter((w) => w.matches(event))) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(event);
    }
  };

  next(matches: (event: CouncilEvent) => boolean, deadlineMs = 2_000): Promise<CouncilEvent> {
    const seen = this.events.find(matches);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching council event within ${deadlineMs} ms`)), deadlineMs);
      this.waiters.push({ matches, resolve: (event) => (clearTimeout(timer), resolve(event)) });
    });
  }

  of<K extends CouncilEvent['kind']>(kind: K): Extract<CouncilEvent, { kind: K }>[] {
    return this.events.filter((event): event is Extract<CouncilEvent, { kind: K }> => event.kind === kind);
  }
}

function recordingLogger(): AgentLogger & { warnings: { fields: object; message: string }[] } {
  const warnings: { fields: object; message: string }[] = [];
  return { warnings, debug() {}, info() {}, error() {}, warn: (fields, message) => void warnings.push({ fields, message }) };
}

/** Answers that embed as far apart as their first letters: "agree…" texts agree with each other, others do not. */
const embedByFirstLetter = async (texts: string[]) => texts.map((text) => (text.startsWith('agree') ? [1, 0.05 * text.length] : [0, 1]));

function council(
  members: CouncilMember[],
  chairman: CouncilMember,
  more: Partial<CouncilRunOptions> = {},
): { log: EventLog; tokens: string[]; observed: string[]; run: Promise<Awaited<ReturnType<typeof runCouncil>>>; controller: AbortController } {
  const log = new EventLog();
  const tokens: string[] = [];
  const observed: string[] = [];
  const controller = new AbortController();
  const run = runCouncil({
    question: 'What makes the sky blue?',
    systemPrompt: 'You are a helpful assistant.',
    members,
    chairman,
    embed: embedByFirstLetter,
    onEvent: log.onEvent,
    onToken: (text) => tokens.push(text),
    signal: controller.signal,
    observe: (stage, model) => observed.push(`${stage} ${model}`),
    seed: 1,
    ...more,
  });
  return { log, tokens, observed, run, controller };
}

function expectInOrder(events: CouncilEvent[]): void {
  expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
  // Stages only go up, except for rankings that came in after the chairman had started (and say so).
  const onTime = events.filter((event) => !(event.kind === 'ranking' && event.late));
  for (let i = 1; i < onTime.length; i++) expect(onTime[i]!.stage).toBeGreaterThanOrEqual(onTime[i - 1]!.stage);
}

describe('runCouncil: three members and a chairman', () => {
  it('emits the answers, then the rankings, then the aggregate, in order; the chairman streams the answer', async () => {
    const best = 'Rayleigh scattering of sunlight.';
    const members = [
      new ScriptedCouncilMember('m1', 'alpha', { answer: 'It reflects the sea.', ranking: prefer(best) }),
      new ScriptedCouncilMember('m2', 'beta', { answer: best, ranking: prefer('It reflects the sea.') }),
      new ScriptedCouncilMember('m3', 'gamma', { answer: 'Blue paint.', ranking: prefer(best, 'It reflects the sea.') }),
    ];
    const chairman = new ScriptedCouncilMember('chair', 'chairman', { synthesis: ['Sunlight ', 'scatters.'] });
    // All three rankings count (by default the chairman starts at two, and the third would be late).
    const { log, tokens, observed, run } = council(members, chairman, { minRankingsForStage3: 3 });
    const result = await run;

    expectInOrder(log.events);
    expect(log.events.map((event) => event.kind)).toEqual(['answer', 'answer', 'answer', 'ranking', 'ranking', 'ranking', 'aggregate']);
    expect(log.of('ranking').every((event) => event.usable && !event.late)).toBe(true);
    const aggregate = log.of('aggregate')[0]!;
    expect(aggregate.method).toBe('rankings');
    expect(aggregate.table[0]).toMatchObject({ memberId: 'm2', model: 'beta', position: 1 });
    expect(aggregate).toMatchObject({ rankingsUsed: 3, rankingsExpected: 3 });
    // The chairman got the top answer first.
    expect(chairman.started[0]!.request.question).toMatch(/Answer 1 \(ranked best\):\n> Rayleigh scattering/);
    expect(tokens).toEqual(['Sunlight ', 'scatters.']);
    expect(result).toMatchObject({ text: 'Sunlight scatters.', source: 'chairman', aborted: false });
    expect(observed).toEqual(expect.arrayContaining(['1 alpha', '1 beta', '1 gamma', '2 alpha', '2 beta', '2 gamma', '3 chairman']));
    expect(result.timings).toHaveLength(7);
  });

  it('shows each answer as soon as it is ready, before any ranking starts', async () => {
    const members = ['m1', 'm2', 'm3'].map((id) => new ScriptedCouncilMember(id, id));
    for (const member of members) member.gates.answer.close();
    const { log, run } = council(members, new ScriptedCouncilMember('chair', 'chair'));
    members[1]!.gates.answer.open();
    const first = await log.next((event) => event.kind === 'answer');
    expect(first).toMatchObject({ memberId: 'm2', seq: 1, stage: 1 });
    expect(members.some((member) => member.started.some((step) => step.step === 'ranking'))).toBe(false);
    members[0]!.gates.answer.open();
    members[2]!.gates.answer.open();
    await run;
    const kinds = log.events.map((event) => event.kind);
    expect(kinds.lastIndexOf('answer')).toBeLessThan(kinds.indexOf('ranking'));
  });

  it('starts the chairman once half of the rankings are in; a slow ranking still shows, late, and does not change its input', async () => {
    const members = ['m1', 'm2', 'm3'].map((id) => new ScriptedCouncilMember(id, id));
    members[2]!.gates.ranking.close();
    const chairman = new ScriptedCouncilMember('chair', 'chair');
    chairman.gates.synthesis.close();
    const { log, run } = council(members, chairman);

    const aggregate = await log.next((event) => event.kind === 'aggregate');
    await vi.waitFor(() => expect(chairman.gates.synthesis.waiters).toBe(1), { timeout: 2_000 });
    expect(log.of('ranking').map((event) => event.memberId)).not.toContain('m3');
    expect(aggregate).toMatchObject({ rankingsUsed: 2, rankingsExpected: 3 });

    members[2]!.gates.ranking.open();
    const late = (await log.next((event) => event.kind === 'ranking' && event.memberId === 'm3')) as CouncilRankingEvent;
    expect(late).toMatchObject({ usable: true, late: true });
    expect(late.seq).toBeGreaterThan(aggregate.seq);
    chairman.gates.synthesis.open();
    const result = await run;
    expect(result.aggregate?.table).toEqual(log.of('aggregate')[0]!.table.map(({ model: _model, ...standing }) => standing));
    expect(log.of('aggregate')).toHaveLength(1);
    expectInOrder(log.events);
  });

  it('cancels a ranking still out when the answer is complete, and says so', async () => {
    const members = ['m1', 'm2', 'm3'].map((id) => new ScriptedCouncilMember(id, id));
    members[2]!.gates.ranking.close(); // never opened
    const { log, run } = council(members, new ScriptedCouncilMember('chair', 'chair'));
    const result = await run;
    expect(result.source).toBe('chairman');
    const m3 = log.of('ranking').find((event) => event.memberId === 'm3')!;
    expect(m3).toMatchObject({ usable: false, late: true });
    expect(m3.reason).toMatch(/answer was complete/);
    expect(members[2]!.started.find((step) => step.step === 'ranking')!.signal.aborted).toBe(true);
  });
});

describe('runCouncil: rankings that cannot be used', () => {
  it('drops a malformed ranking, logs it, and aggregates the others', async () => {
    const logger = recordingLogger();
    const members = [
      new ScriptedCouncilMember('m1', 'm1', { answer: 'one' }),
      new ScriptedCouncilMember('m2', 'm2', { answer: 'two', ranking: 'Once upon a time there was a cat.' }),
      new ScriptedCouncilMember('m3', 'm3', { answer: 'three', ranking: prefer('one', 'two') }),
    ];
    const { log, run } = council(members, new ScriptedCouncilMember('chair', 'chair'), { logger, minRankingsForStage3: 2 });
    await run;
    const dropped = log.of('ranking').find((event) => event.memberId === 'm2')!;
    expect(dropped).toMatchObject({ usable: false, reason: 'unparseable', ranking: [] });
    expect(logger.warnings).toContainEqual({ fields: { member: 'm2', chars: 33 }, message: 'council ranking unparseable; dropped' });
    expect(log.of('aggregate')[0]).toMatchObject({ method: 'rankings', rankingsUsed: 2 });
  });

  it('ranks by agreement when every ranking is nonsense', async () => {
    const nonsense = 'Lily and Ben went to the park. They saw a big dog.';
    const members = [
      new ScriptedCouncilMember('m1', 'm1', { answer: 'zebra', ranking: nonsense }),
      new ScriptedCouncilMember('m2', 'm2', { answer: 'agree with me', ranking: nonsense }),
      new ScriptedCouncilMember('m3', 'm3', { answer: 'agreed', ranking: nonsense }),
    ];
    const chairman = new ScriptedCouncilMember('chair', 'chair');
    const { log, run } = council(members, chairman);
    await run;
    const aggregate = log.of('aggregate')[0]!;
    expect(aggregate).toMatchObject({ method: 'agreement', rankingsUsed: 0 });
    expect(aggregate.table.map((standing) => standing.memberId).at(-1)).toBe('m1');
    const notice = log.of('notice').find((event) => event.code === 'fallback-aggregation')!;
    expect(notice.seq).toBe(aggregate.seq + 1);
    expect(notice.message).toMatch(/agree/);
    expect(chairman.started).toHaveLength(1);
    expectInOrder(log.events);
  });
});

describe('runCouncil: degradation', () => {
  it('drops a member that times out, with a notice, and completes with the others', async () => {
    const members = ['m1', 'm2', 'm3'].map((id) => new ScriptedCouncilMember(id, id));
    members[1]!.gates.answer.close(); // never opened: it hangs
    const { log, run } = council(members, new ScriptedCouncilMember('chair', 'chair'), { timeouts: { answerMs: 50 } });
    const result = await run;
    expect(log.of('notice')[0]).toMatchObject({ stage: 1, code: 'member-timed-out', memberId: 'm2', level: 'warning' });
    expect(log.of('notice')[0]!.message).toMatch(/m2 was dropped from the council: no answer within 50 ms/);
    expect(members[1]!.started[0]!.signal.aborted).toBe(true);
    expect(log.of('ranking').map((event) => event.memberId).sort()).toEqual(['m1', 'm3']);
    expect(result.answers.map((answer) => answer.memberId)).toEqual(['m1', 'm3']);
    expect(result).toMatchObject({ source: 'chairman', text: 'The final answer.' });
    expect(result.timings).toContainEqual(expect.objectContaining({ stage: 1, memberId: 'm2', outcome: 'timed-out' }));
  });

  it('gives the top-ranked answer, with a notice, when the chairman fails', async () => {
    const members = [
      new ScriptedCouncilMember('m1', 'm1', { answer: 'worse', ranking: prefer('better') }),
      new ScriptedCouncilMember('m2', 'm2', { answer: 'better', ranking: prefer('better', 'worse', 'worst') }),
      new ScriptedCouncilMember('m3', 'm3', { answer: 'worst', ranking: prefer('better', 'worse') }),
    ];
    const chairman = new ScriptedCouncilMember('chair', 'chair', { synthesis: [new AgentError('GENERATION_FAILED', 'the chairman crashed')] });
    const { log, tokens, run } = council(members, chairman, { minRankingsForStage3: 3 });
    const result = await run;
    expect(result).toMatchObject({ source: 'top-answer', text: 'better' });
    expect(tokens).toEqual(['better']);
    const notice = log.of('notice').find((event) => event.code === 'chairman-failed')!;
    expect(notice).toMatchObject({ stage: 3, model: 'chair' });
    expect(notice.message).toMatch(/the chairman crashed.*m2's, is the answer/);
  });

  it('a chairman failing halfway leaves what it streamed and adds the top answer, so the stream and the answer agree', async () => {
    const members = [new ScriptedCouncilMember('m1', 'm1', { answer: 'first' }), new ScriptedCouncilMember('m2', 'm2', { answer: 'second' })];
    const chairman = new ScriptedCouncilMember('chair', 'chair', { synthesis: ['Half a ', new Error('out of memory')] });
    const { tokens, run } = council(members, chairman);
    const result = await run;
    expect(result.source).toBe('top-answer');
    expect(result.text).toBe(tokens.join(''));
    expect(result.text).toMatch(/^Half a \n\n(first|second)$/);
  });

  it('does not wait for a chairman that ignores its deadline, and lets nothing it streams later into the answer', async () => {
    const members = [new ScriptedCouncilMember('m1', 'm1', { answer: 'first' }), new ScriptedCouncilMember('m2', 'm2', { answer: 'second' })];
    const stuck = new Gate(false);
    let finished = false;
    const chairman: CouncilMember = {
      id: 'chair',
      label: 'deaf chairman',
      concurrency: 'parallel',
      async generate(request) {
        request.onToken('Half ');
        await stuck.wait(undefined, () => new Error('unreachable')); // ignores request.signal
        request.onToken('and more');
        finished = true;
        return { text: 'Half and more', tokens: 2, aborted: false };
      },
    };
    const { log, tokens, run } = council(members, chairman, { timeouts: { synthesisMs: 50 } });
    const result = await run;
    expect(result.source).toBe('top-answer');
    expect(log.of('notice').at(-1)).toMatchObject({ code: 'chairman-failed' });
    expect(log.of('notice').at(-1)!.message).toMatch(/no answer within 50 ms/);
    stuck.open();
    await vi.waitFor(() => expect(finished).toBe(true));
    expect(tokens.join('')).toBe(result.text);
    expect(result.text).not.toContain('and more');
  });

  it("gives the only member's answer, with a notice, when the others fail", async () => {
    const members = [
      new ScriptedCouncilMember('m1', 'm1', { answer: new Error('connection refused') }),
      new ScriptedCouncilMember('m2', 'm2', { answer: 'the only answer' }),
      new ScriptedCouncilMember('m3', 'm3', { answer: '   ' }),
    ];
    const chairman = new ScriptedCouncilMember('chair', 'chair');
    const { log, tokens, run } = council(members, chairman);
    const result = await run;
    expect(result).toMatchObject({ source: 'sole-member', text: 'the only answer' });
    expect(tokens).toEqual(['the only answer']);
    const notices = log.of('notice');
    expect(notices.map((event) => [event.memberId, event.code])).toEqual(
      expect.arrayContaining([
        ['m1', 'member-failed'],
        ['m3', 'member-failed'],
        ['m2', 'single-member'],
      ]),
    );
    expect(notices.at(-1)!.code).toBe('single-member');
    expect(notices.find((event) => event.memberId === 'm1')!.message).toMatch(/connection refused/);
    expect(notices.find((event) => event.memberId === 'm3')!.message).toMatch(/empty answer/);
    expect(chairman.started).toHaveLength(0);
    expect(log.of('ranking')).toHaveLength(0);
  });

  it('ends with a clear GENERATION_FAILED error when no member answers', async () => {
    const members = [
      new ScriptedCouncilMember('m1', 'alpha', { answer: new Error('model missing') }),
      new ScriptedCouncilMember('m2', 'beta', { answer: new Error('out of memory') }),
    ];
    const { log, run } = council(members, new ScriptedCouncilMember('chair', 'chair'));
    const error = await run.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AgentError);
    expect(error).toMatchObject({ code: 'GENERATION_FAILED' });
    expect((error as AgentError).message).toBe('No council member answered (alpha: model missing; beta: out of memory).');
    expect(log.of('notice').map((event) => event.code)).toEqual(['member-failed', 'member-failed']);
  });
});

describe('runCouncil: members and scheduling', () => {
  it('makes a model listed twice two distinct members, each with its own seed', async () => {
    const llm = new ScriptedLlm(['an ', 'answer']);
    const requests: CouncilProviderRequest[] = [];
    const generate = llm.generate.bind(llm);
    llm.generate = (request: CouncilProviderRequest) => (requests.push(request), generate(request));
    const members = councilMembersFrom([{ provider: llm }, { provider: llm }, { provider: llm, sampling: { temperature: 0.9, seed: 7 } }]);
    expect(members.map((member) => [member.id, member.label, member.concurrency])).toEqual([
      ['m1', 'scripted-model #1', 'exclusive'],
      ['m2', 'scripted-model #2', 'exclusive'],
      ['m3', 'scripted-model #3', 'exclusive'],
    ]);
    const { log, run } = council(members, new ScriptedCouncilMember('chair', 'chair'));
    await run;
    expect(log.of('answer').map((event) => event.model)).toEqual(['scripted-model #1', 'scripted-model #2', 'scripted-model #3']);
    const stage1 = requests.filter((request) => request.question === 'What makes the sky blue?');
    expect(stage1.map((request) => request.sampling)).toEqual([{ seed: 1 }, { seed: 2 }, { temperature: 0.9, seed: 7 }]);
  });

  it('runs exclusive members one after another and parallel ones at once', async () => {
    const journal: string[] = [];
    const e1 = new ScriptedCouncilMember('e1', 'e1', { concurrency: 'exclusive' }, journal);
    const e2 = new ScriptedCouncilMember('e2', 'e2', { concurrency: 'exclusive' }, journal);
    const p1 = new ScriptedCouncilMember('p1', 'p1', { concurrency: 'parallel' }, journal);
    e1.gates.answer.close();
    p1.gates.answer.close();
    const { run } = council([e1, e2, p1], new ScriptedCouncilMember('chair', 'chair'));
    await vi.waitFor(() => expect(journal).toEqual(expect.arrayContaining(['e1 answer start', 'p1 answer start'])), { timeout: 2_000 });
    expect(journal).not.toContain('e2 answer start');
    e1.gates.answer.open();
    await vi.waitFor(() => expect(journal).toContain('e2 answer end'), { timeout: 2_000 });
    expect(journal.indexOf('e1 answer end')).toBeLessThan(journal.indexOf('e2 answer start'));
    p1.gates.answer.open();
    await run;
  });

  it('lets an exclusive chairman take the next turn once the quorum is in, ahead of a ranking still queued', async () => {
    const journal: string[] = [];
    const members = ['m1', 'm2', 'm3'].map((id) => new ScriptedCouncilMember(id, id, { concurrency: 'exclusive' }, journal));
    const chairman = new ScriptedCouncilMember('chair', 'chair', { concurrency: 'exclusive' }, journal);
    const { log, run } = council(members, chairman);
    const result = await run;
    expect(result.source).toBe('chairman');
    const rankingStarts = journal.filter((entry) => entry.endsWith('ranking start'));
    expect(rankingStarts).toHaveLength(2);
    expect(journal.indexOf('chair synthesis start')).toBeGreaterThan(journal.lastIndexOf(rankingStarts[1]!));
    const cancelled = log.of('ranking').filter((event) => !event.usable);
    expect(cancelled).toHaveLength(1);
    expect(cancelled[0]).toMatchObject({ late: true, reason: 'cancelled: the answer was complete before it' });
    // It never started, so it has no timing.
    expect(result.timings.filter((timing) => timing.stage === 2)).toHaveLength(2);
  });

  it('stops every member when the turn is cancelled, and emits nothing after', async () => {
    const members = ['m1', 'm2', 'm3'].map((id) => new ScriptedCouncilMember(id, id));
    for (const member of members) member.gates.ranking.close();
    const { log, run, controller } = council(members, new ScriptedCouncilMember('chair', 'chair'));
    await vi.waitFor(() => expect(members.every((member) => member.gates.ranking.waiters === 1)).toBe(true), { timeout: 2_000 });
    const before = log.events.length;
    controller.abort(new AgentError('CANCELLED', 'barge-in'));
    const result = await run;
    expect(result).toMatchObject({ aborted: true, source: 'none', text: '' });
    expect(log.events).toHaveLength(before);
    for (const member of members) expect(member.started.find((step) => step.step === 'ranking')!.signal.aborted).toBe(true);
  });

  it('refuses two members with the same id or label', async () => {
    const twins = [new ScriptedCouncilMember('m1', 'same'), new ScriptedCouncilMember('m2', 'same')];
    await expect(council(twins, twins[0]!).run).rejects.toMatchObject({ code: 'INVALID_SETTING' });
  });
});
