import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatModelSpec,
  MAX_MODEL_SPEC_CHARS,
  parseModelSpec,
  parseModelSpecOrThrow,
  providerKindOf,
  sameModelSpec,
  TIERS,
  type ModelSpec,
  type ParseModelSpecOptions,
} from './modelSpec.js';

const ok = (raw: string, options?: ParseModelSpecOptions) => {
  const result = parseModelSpec(raw, options);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(raw)} to parse: ${result.error}`);
  return result.spec;
};
const error = (raw: string, options?: ParseModelSpecOptions) => {
  const result = parseModelSpec(raw, options);
  if (result.ok) throw new Error(`expected ${JSON.stringify(raw)} to be refused, got ${JSON.stringify(result.spec)}`);
  return result.error;
};

describe('parseModelSpec', () => {
  it.each<[string, ModelSpec]>([
    ['fast', { kind: 'tier', tier: 'fast' }],
    ['balanced', { kind: 'tier', tier: 'balanced' }],
    [' Quality ', { kind: 'tier', tier: 'quality' }],
    ['models/llm/qwen2.5-1.5b-instruct-q4_k_m.gguf', { kind: 'gguf', path: 'models/llm/qwen2.5-1.5b-instruct-q4_k_m.gguf' }],
    ['/home/me/My Models/phi 3.GGUF', { kind: 'gguf', path: '/home/me/My Models/phi 3.GGUF' }],
    ['stories260K.gguf', { kind: 'gguf', path: 'stories260K.gguf' }],
    ['C:\\models\\llama.gguf', { kind: 'gguf', path: 'C:\\models\\llama.gguf' }],
    ['odd:name.gguf', { kind: 'gguf', path: 'odd:name.gguf' }],
    ['qwen2.5-1.5b-instruct', { kind: 'embedded', model: 'qwen2.5-1.5b-instruct' }],
    ['ollama:qwen2.5:1.5b-instruct', { kind: 'ollama', model: 'qwen2.5:1.5b-instruct' }],
    ['ollama: llama3.2 ', { kind: 'ollama', model: 'llama3.2' }],
    ['Ollama:hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M', { kind: 'ollama', model: 'hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M' }],
    ['openai:lmstudio-community/Qwen2.5-7B-Instruct-GGUF', { kind: 'openai', model: 'lmstudio-community/Qwen2.5-7B-Instruct-GGUF' }],
    ['OPENAI:fast', { kind: 'openai', model: 'fast' }],
    ['ollama:weights.gguf', { kind: 'ollama', model: 'weights.gguf' }],
  ])('reads %j', (raw, spec) => {
    expect(ok(raw)).toEqual(spec);
  });

  it('takes an existing file without the .gguf extension as a GGUF path, asking the caller', () => {
    const files = new Set(['models/llama', 'C:\\m\\phi', 'qwen', 'weird:file']);
    const isFile = (path: string) => files.has(path);
    expect(ok('models/llama', { isFile })).toEqual({ kind: 'gguf', path: 'models/llama' });
    expect(ok('C:\\m\\phi', { isFile })).toEqual({ kind: 'gguf', path: 'C:\\m\\phi' });
    // A file beats a manifest id of the same name, and an unknown prefix.
    expect(ok('qwen', { isFile })).toEqual({ kind: 'gguf', path: 'qwen' });
    expect(ok('qwen')).toEqual({ kind: 'embedded', model: 'qwen' });
    expect(ok('weird:file', { isFile })).toEqual({ kind: 'gguf', path: 'weird:file' });
    // Tiers and prefixes are never files.
    expect(ok('fast', { isFile: () => true })).toEqual({ kind: 'tier', tier: 'fast' });
    expect(ok('ollama:x', { isFile: () => true })).toEqual({ kind: 'ollama', model: 'x' });
  });

  it('refuses empty specs', () => {
    expect(error('')).toMatch(/^The model spec is empty; give a tier \(fast, balanced, quality\), a \.gguf file path/);
    expect(error('  \t ')).toMatch(/is empty/);
    expect(error('ollama:')).toBe('"ollama:" needs a model name after the colon, e.g. ollama:qwen2.5:1.5b-instruct.');
    expect(error('openai:  ')).toMatch(/^"openai:" needs a model name/);
  });

  it('refuses unknown prefixes, naming the prefix and the known ones', () => {
    const message = error('foo:bar');
    expect(message).toContain('Unknown model spec prefix "foo:"');
    expect(message).toContain('"foo:bar"');
    expect(message).toContain('ollama: and openai:');
    expect(error('llamacpp:qwen')).toContain('"llamacpp:"');
    expect(error('https://huggingface.co/x/y/resolve/main/model.gguf')).toMatch(/is a URL; give a downloaded \.gguf file's path/);
  });

  it('refuses control characters, saying which and where', () => {
    expect(error('qwen\u0000')).toBe('The model spec "qwen\\u0000" contains a control character (U+0000 at position 5).');
    expect(error('ollama:llama\n3')).toContain('U+000A at position 13');
    expect(error('a\u007fb.gguf')).toContain('U+007F');
    expect(error('x\u0085y')).toContain('U+0085');
    // Surrounding whitespace, a pasted newline included, is not part of the spec.
    expect(ok('\tollama:llama3\r\n')).toEqual({ kind: 'ollama', model: 'llama3' });
  });

  it(`refuses specs over ${MAX_MODEL_SPEC_CHARS} characters`, () => {
    const longest = `${'a'.repeat(MAX_MODEL_SPEC_CHARS - 5)}.gguf`;
    expect(ok(longest)).toEqual({ kind: 'gguf', path: longest });
    expect(error(`a${longest}`)).toBe(`A model spec may be at most ${MAX_MODEL_SPEC_CHARS} characters; got ${MAX_MODEL_SPEC_CHARS + 1}.`);
    expect(error('x'.repeat(1_000_000))).toMatch(/got 1000000\.$/);
  });

  it('refuses what is neither a file, a manifest id nor a spec', () => {
    expect(error('My Model')).toMatch(/^"My Model" is not a model spec \(nor an existing file\); expected a tier/);
    expect(error('./models/missing')).toBe('The model file "./models/missing" does not exist (a GGUF file path ends with .gguf).');
    // Long input is shortened in the message.
    expect(error(`${'Z'.repeat(200)}`)).toContain('…" (200 characters)');
  });

  it('parseModelSpecOrThrow throws the message', () => {
    expect(parseModelSpecOrThrow('ollama:x')).toEqual({ kind: 'ollama', model: 'x' });
    expect(() => parseModelSpecOrThrow('foo:bar')).toThrow(/Unknown model spec prefix "foo:"/);
  });
});

describe('formatModelSpec', () => {
  it('writes a spec as a user would', () => {
    expect(formatModelSpec({ kind: 'tier', tier: 'quality' })).toBe('quality');
    expect(formatModelSpec({ kind: 'gguf', path: '/m/a.gguf' })).toBe('/m/a.gguf');
    expect(formatModelSpec({ kind: 'embedded', model: 'qwen' })).toBe('qwen');
    expect(formatModelSpec({ kind: 'ollama', model: 'qwen2.5:7b' })).toBe('ollama:qwen2.5:7b');
    expect(formatModelSpec({ kind: 'openai', model: 'local' })).toBe('openai:local');
  });

  it('names the provider of each kind, and compares specs', () => {
    expect(providerKindOf({ kind: 'gguf', path: 'a.gguf' })).toBe('embedded');
    expect(providerKindOf({ kind: 'embedded', model: 'qwen' })).toBe('embedded');
    expect(providerKindOf({ kind: 'ollama', model: 'x' })).toBe('ollama');
    expect(providerKindOf({ kind: 'openai', model: 'x' })).toBe('openai');
    expect(providerKindOf({ kind: 'tier', tier: 'fast' })).toBeUndefined();
    expect(sameModelSpec(ok('Ollama: x'), ok('ollama:x'))).toBe(true);
    expect(sameModelSpec(ok('ollama:x'), ok('openai:x'))).toBe(false);
    expect(sameModelSpec(ok('x.gguf'), { kind: 'embedded', model: 'x.gguf' })).toBe(false);
  });
});

describe('round trips (property tests)', () => {
  const hasControl = (text: string) => /[\u0000-\u001f\u007f-\u009f]/.test(text);
  /** Text a user could type as a model name: printable, no surrounding spaces. */
  const modelName = fc
    .string({ unit: fc.oneof(fc.constantFrom(...'abcXYZ019.:/_-@ '), fc.constantFrom('é', 'ß', '模', '😀')), minLength: 1, maxLength: 80 })
    .map((text) => text.trim())
    .filter((text) => text !== '' && !hasControl(text));
  const manifestId = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,40}$/).filter((id) => !(TIERS as readonly string[]).includes(id) && !/\.gguf$/i.test(id));
  const ggufPath = fc
    .tuple(fc.constantFrom('', '/', './', '../', 'C:\\', '~/'), fc.array(modelName, { minLength: 1, maxLength: 4 }), fc.constantFrom('.gguf', '.GGUF', '.Gguf'))
    .map(([root, parts, extension]) => `${root}${parts.join('/')}${extension}`)
    .filter((path) => path === path.trim() && !/^(ollama|openai):/i.test(path) && !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(path));
  const spec: fc.Arbitrary<ModelSpec> = fc.oneof(
    fc.constantFrom(...TIERS).map((tier) => ({ kind: 'tier' as const, tier })),
    ggufPath.map((path) => ({ kind: 'gguf' as const, path })),
    manifestId.map((model) => ({ kind: 'embedded' as const, model })),
    modelName.map((model) => ({ kind: 'ollama' as const, model })),
    modelName.map((model) => ({ kind: 'openai' as const, model })),
  );

  it('parse(format(spec)) is the spec', () => {
    fc.assert(
      fc.property(spec, (original) => {
        expect(parseModelSpec(formatModelSpec(original))).toEqual({ ok: true, spec: original });
      }),
      { numRuns: 2000 },
    );
  });

  it('an existing file without an extension round-trips too', () => {
    fc.assert(
      fc.property(fc.array(modelName, { minLength: 1, maxLength: 3 }), (parts) => {
        const path = `/data/${parts.join('/')}`;
        const isFile = (candidate: string) => candidate === path;
        expect(parseModelSpec(formatModelSpec({ kind: 'gguf', path }), { isFile })).toEqual({ ok: true, spec: { kind: 'gguf', path } });
      }),
    );
  });

  it('any string either parses to a spec that formats back to itself, or gets an error message; nothing throws', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 60 }), spec.map(formatModelSpec)), (raw) => {
        const result = parseModelSpec(raw);
        if (result.ok) {
          const formatted = formatModelSpec(result.spec);
          expect(parseModelSpec(formatted)).toEqual(result);
          expect(formatModelSpec(parseModelSpecOrThrow(formatted))).toBe(formatted);
          expect(raw.trim().toLowerCase()).toContain(formatted.toLowerCase().replace(/^(ollama|openai):/, ''));
        } else {
          expect(result.error.length).toBeGreaterThan(10);
          expect(result.error.length).toBeLessThan(400);
        }
        if (hasControl(raw.trim())) expect(result).toMatchObject({ ok: false, error: expect.stringContaining('control character') });
      }),
      { numRuns: 3000 },
    );
  });
});
