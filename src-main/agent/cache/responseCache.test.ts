import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeQuestion, responseCacheKey } from './cacheKey.node.js';
import { ResponseCache } from './responseCache.node.js';
import { openSqliteDatabase } from '../memory/sqliteDatabase.node.js';
import { tempDataDir } from '../../testing/agentTestSupport.js';

const base = { provider: 'embedded', modelId: 'm.gguf', promptVersion: '1', question: 'What is the capital of France?', history: [] };

describe('response cache key', () => {
  it('ignores case, spacing and trailing punctuation of the question', () => {
    fc.assert(
      fc.property(fc.constantFrom('', ' ', '  \n'), fc.constantFrom('?', '', '!', ' ?'), fc.boolean(), (pad, end, upper) => {
        const variant = `${pad}${upper ? base.question.toUpperCase() : base.question}${end}${pad}`.replace(/\?$/, end);
        expect(responseCacheKey({ ...base, question: variant })).toBe(responseCacheKey(base));
      }),
    );
  });
  it('changes with provider, model, prompt version, question and context ids', () => {
    const key = responseCacheKey(base);
    expect(responseCacheKey({ ...base, provider: 'ollama' })).not.toBe(key);
    expect(responseCacheKey({ ...base, modelId: 'other.gguf' })).not.toBe(key);
    expect(responseCacheKey({ ...base, promptVersion: '2' })).not.toBe(key);
    expect(responseCacheKey({ ...base, question: 'What is the capital of Spain?' })).not.toBe(key);
    expect(responseCacheKey({ ...base, contextIds: ['doc-1'] })).not.toBe(key);
    expect(responseCacheKey({ ...base, contextIds: ['a', 'b'] })).toBe(responseCacheKey({ ...base, contextIds: ['b', 'a'] }));
  });
  it('changes with the history the model sees, so a follow-up never matches another conversation', () => {
    const cats = [{ role: 'user', text: 'Tell me about cats' }, { role: 'assistant', text: 'Cats purr.' }];
    const ships = [{ role: 'user', text: 'Tell me about ships' }, { role: 'assistant', text: 'Ships float.' }];
    const why = { ...base, question: 'why?' };
    expect(responseCacheKey({ ...why, history: cats })).not.toBe(responseCacheKey({ ...why, history: ships }));
    expect(responseCacheKey({ ...why, question: 'Why', history: cats })).toBe(responseCacheKey({ ...why, history: cats }));
    expect(responseCacheKey({ ...why, history: cats })).not.toBe(responseCacheKey(why));
    // Order and role matter: the same texts said by the other party are another conversation.
    expect(responseCacheKey({ ...why, history: [...cats].reverse() })).not.toBe(responseCacheKey({ ...why, history: cats }));
    const swapped = cats.map((m) => ({ ...m, role: m.role === 'user' ? 'assistant' : 'user' }));
    expect(responseCacheKey({ ...why, history: swapped })).not.toBe(responseCacheKey({ ...why, history: cats }));
  });
  it('changes with the answer-token limit, so an answer cut short by a small limit never answers a larger one', () => {
    expect(responseCacheKey({ ...base, maxAnswerTokens: 20 })).not.toBe(responseCacheKey({ ...base, maxAnswerTokens: 512 }));
    expect(responseCacheKey({ ...base, maxAnswerTokens: 512 })).toBe(responseCacheKey({ ...base, maxAnswerTokens: 512 }));
  });
  it('two messages cannot be merged into one to collide (each message is hashed with its boundaries)', () => {
    const split = [{ role: 'user', text: 'a' }, { role: 'user', text: 'b' }];
    const joined = [{ role: 'user', text: 'a","user","b' }];
    expect(responseCacheKey({ ...base, history: split })).not.toBe(responseCacheKey({ ...base, history: joined }));
  });
  it('different normalized questions never share a key (no collisions on random questions)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (a, b) => {
        fc.pre(normalizeQuestion(a) !== normalizeQuestion(b));
        expect(responseCacheKey({ ...base, question: a })).not.toBe(responseCacheKey({ ...base, question: b }));
      }),
    );
  });
});

describe('response cache (lru-cache persisted in SQLite)', () => {
  it('evicts the least recently used entry when over the entry bound, also after a restart', () => {
    const dir = tempDataDir();
    const db = openSqliteDatabase(dir);
    const cache = new ResponseCache(db, { maxEntries: 3, maxBytes: 1_000_000 });
    cache.set('a', 'answer a');
    cache.set('b', 'answer b');
    cache.set('c', 'answer c');
    expect(cache.get('a')).toBe('answer a'); // a is now the most recent
    cache.set('d', 'answer d'); // evicts b
    expect(cache.get('b')).toBeUndefined();
    db.close();

    const reopened = openSqliteDatabase(dir);
    const restored = new ResponseCache(reopened, { maxEntries: 3, maxBytes: 1_000_000 });
    expect(restored.size).toBe(3);
    expect(restored.get('b')).toBeUndefined();
    expect(restored.get('a')).toBe('answer a');
    restored.set('e', 'answer e'); // c is now the least recent
    expect(restored.get('c')).toBeUndefined();
    expect(restored.get('d')).toBe('answer d');
    reopened.close();
  });

  it('stays within the byte bound, counting UTF-8 bytes, and skips an answer larger than the bound', () => {
    const db = openSqliteDatabase(tempDataDir());
    const cache = new ResponseCache(db, { maxEntries: 100, maxBytes: 100 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 5 }), fc.string({ maxLength: 60 })), { maxLength: 30 }), (entries) => {
        for (const [key, answer] of entries) cache.set(key, answer);
        expect(cache.bytes).toBeLessThanOrEqual(100);
      }),
    );
    cache.set('huge', 'é'.repeat(60)); // 120 bytes, 60 characters
    expect(cache.get('huge')).toBeUndefined();
    db.close();
  });
});
