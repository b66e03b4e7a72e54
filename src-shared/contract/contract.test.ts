import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentCommand, AGENT_EVENT_CHANNEL } from './channels.js';
import { commandSchemas } from './agentCommands.js';
import { AgentEvent } from './agentEvents.js';
import { AgentError, toErrorShape } from './agentErrors.js';
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
      AgentEvent.parse({ type: 'done', turnId: 't', conversationId: 'c', text: 'Hi', cached: false, interrupted: false, provider: 'embedded', model: 'm', timings }),
    ).toBeTruthy();
    expect(AgentEvent.parse({ type: 'error', code: 'EMPTY_QUESTION', message: 'empty' })).toBeTruthy();
    expect(AgentEvent.safeParse({ type: 'token', turnId: 't', text: 'no conversation' }).success).toBe(false);
    expect(AgentEvent.safeParse({ type: 'error', code: 'NOT_A_CODE', message: 'x' }).success).toBe(false);
    expect(AgentEvent.safeParse({ type: 'mystery' }).success).toBe(false);
  });

  it('never throws on arbitrary input: anything invalid becomes INVALID_MESSAGE', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(() => ClientFrame.safeParse(value)).not.toThrow();
        expect(() => ServerFrame.safeParse(value)).not.toThrow();
        try {
          parseCommandArgs('chat:send', value);
        } catch (error) {
          expect(toErrorShape(error).code).toBe('INVALID_MESSAGE');
        }
      }),
    );
  });

  it('errors cross as plain objects with code and message, no stacks', () => {
    const shape = toErrorShape(new AgentError('MODEL_MISSING', 'no model at /x', 'detail'));
    expect(shape).toEqual({ code: 'MODEL_MISSING', message: 'no model at /x', detail: 'detail' });
    expect(toErrorShape(new Error('boom'))).toEqual({ code: 'INTERNAL', message: 'boom' });
    expect(() => assertCommandName('chat:explode')).toThrow(/Unknown command/);
  });
});
