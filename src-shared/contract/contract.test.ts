import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentCommand, AGENT_EVENT_CHANNEL } from './channels.js';
import { commandSchemas } from './agentCommands.js';
import { AgentEvent } from './agentEvents.js';
import { AgentError, AgentErrorShape, fromErrorShape, toErrorShape } from './agentErrors.js';
import { ClientFrame, ServerFrame } from './wireMessages.js';
import { parseCommandArgs, assertCommandName } from './validate.js';

describe('the shared contract', () => {
  it('channel names are unique, namespaced, and every command has schemas', () => {
    const names = [...Object.values(AgentCommand), AGENT_EVENT_CHANNEL];
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z]+:[a-z-]+$/);
    expect(Object.keys(commandSchemas).sort()).toEqual([...Object.values(AgentCommand)].sort());
  });

  it('accepts the documented streamed events and rejects malformed ones', () => {
    const timings = { ttftMs: 12, totalMs: 40, tokens: 5, tokensPerSecond: 100 };
    expect(AgentEvent.parse({ type: 'token', turnId: 't', conversationId: 'c', text: 'Hi' })).toBeTruthy();
    expect(
      AgentEvent.parse({ type: 'done', turnId: 't', conversationId: 'c', text: 'Hi', cached: false, interrupted: false, provider: 'embedded', model: 'm', timings, citations: [] }),
    ).toBeTruthy();
    expect(AgentEvent.parse({ type: 'error', code: 'EMPTY_QUESTION', message: 'empty' })).toBeTruthy();
    expect(AgentEvent.safeParse({ type: 'token', turnId: 't', text: 'no conversation' }).success).toBe(false);
    expect(AgentEvent.safeParse({ type: 'error', code: 'NOT_A_CODE', message: 'x' }).success).toBe(false);
    expect(AgentEvent.safeParse({ type: 'mystery' }).success).toBe(false);
  });

  it('never throws on arbitrary input: anything invalid becomes INVALID_MESSAGE', () => {
    /** Throws, and the error is an INVALID_MESSAGE AgentError (not some other crash). */
    const expectInvalidMessage = (value: unknown) => {
      let thrown: unknown;
      expect(() => {
        try {
          parseCommandArgs('chat:send', value);
        } catch (error) {
          thrown = error;
          throw error;
        }
      }).toThrow(AgentError);
      expect(toErrorShape(thrown)).toMatchObject({ code: 'INVALID_MESSAGE', message: expect.stringContaining('chat:send') });
    };
    /** chat:send wants an object whose `text` is a string; anything without one is invalid whatever else it holds. */
    const hasStringText = (value: unknown) =>
      typeof value === 'object' && value !== null && typeof (value as { text?: unknown }).text === 'string';
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(() => ClientFrame.safeParse(value)).not.toThrow();
        expect(() => ServerFrame.safeParse(value)).not.toThrow();
        if (!hasStringText(value)) expectInvalidMessage(value);
      }),
    );
    // Near misses: the right keys with the wrong types or sizes.
    const notAString = fc.anything().filter((v) => typeof v !== 'string');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({ text: notAString }),
          fc.record({ text: fc.string(), conversationId: notAString.filter((v) => v !== undefined) }),
          fc.record({ text: fc.string(), conversationId: fc.constant('') }),
          fc.record({ text: fc.string(), conversationId: fc.string({ minLength: 101, maxLength: 120 }) }),
        ),
        expectInvalidMessage,
      ),
    );
    expectInvalidMessage({ text: 'x'.repeat(1_000_001) });
    expectInvalidMessage('hi');
    // And valid input is still accepted, so the checks above are not passing on a parser that rejects everything.
    expect(parseCommandArgs('chat:send', { text: 'hi', conversationId: 'c1' })).toEqual({ text: 'hi', conversationId: 'c1' });
  });

  it('errors cross as plain objects with code and message, no stacks', () => {
    const shape = toErrorShape(new AgentError('MODEL_MISSING', 'no model at /x', 'detail'));
    expect(shape).toEqual({ code: 'MODEL_MISSING', message: 'no model at /x', detail: 'detail' });
    expect(toErrorShape(new Error('boom'))).toEqual({ code: 'INTERNAL', message: 'boom' });
    expect(() => assertCommandName('chat:explode')).toThrow(/Unknown command/);
  });

  it('a rate limit says when to retry, as a field that survives the boundary both ways', () => {
    const shape = toErrorShape(new AgentError('RATE_LIMITED', 'Too many calls; try again in 0.1 s.', undefined, { retryAfterMs: 100 }));
    expect(shape).toEqual({ code: 'RATE_LIMITED', message: 'Too many calls; try again in 0.1 s.', retryAfterMs: 100 });
    expect(ServerFrame.parse({ kind: 'failure', id: 1, error: shape })).toEqual({ kind: 'failure', id: 1, error: shape });
    expect(AgentErrorShape.safeParse({ ...shape, retryAfterMs: -1 }).success).toBe(false);
    const thrown = fromErrorShape(shape);
    expect(thrown).toBeInstanceOf(AgentError);
    expect(toErrorShape(thrown)).toEqual(shape);
  });
});
