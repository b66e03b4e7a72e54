import { llmModelFixHint } from '../../models/modelFixHint.node.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentError } from '../../../src-shared/contract/index.js';
import { TEST_LLM_MODEL } from '../../testing/agentTestSupport.js';
import { damagedCopy } from '../../testing/damagedModel.js';
import { EmbeddedLlamaProvider, hasVisibleText, loadErrorReason, SEEDED_DEFAULT_TEMPERATURE } from './embeddedLlamaProvider.node.js';
import type { LlmGenerateResult, LlmSampling } from './llmProvider.js';

const dir = mkdtempSync(path.join(tmpdir(), 'embedded-llama-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (...parts: string[]) => path.join(dir, ...parts);

async function loadError(modelPath: string): Promise<AgentError> {
  const provider = new EmbeddedLlamaProvider({ modelPath, threads: 1, contextSize: 256, fixHint: llmModelFixHint });
  const error = await provider.load().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  await provider.dispose();
  expect(error).toBeInstanceOf(AgentError);
  return error as AgentError;
}

/** What no model error may show: internal JS errors, raw errno codes, stack frames. */
function expectClean(error: AgentError, modelPath: string) {
  expect(error.message).toContain(modelPath);
  expect(error.message).not.toMatch(/Cannot read properties|undefined|TypeError|EISDIR|ENOENT|ELOOP|ENOTDIR|\n\s+at /);
}

function ggufStub(size = 64): Buffer {
  const bytes = Buffer.alloc(size);
  bytes.write('GGUF', 0, 'latin1');
  bytes.writeUInt32LE(3, 4);
  return bytes;
}

describe('EmbeddedLlamaProvider: bad model paths get messages that name the path and the fix', () => {
  it('a 64-byte GGUF stub is MODEL_CORRUPT, not an internal JS error', async () => {
    const stub = at('stub.gguf');
    writeFileSync(stub, ggufStub());
    const error = await loadError(stub);
    expect(error.code).toBe('MODEL_CORRUPT');
    expectClean(error, stub);
    expect(error.message).toContain(`${stub} is not a usable GGUF model (`);
    expect(error.message).toMatch(/truncated or damaged/);
    expect(error.message).toContain('`npx assistant models pull qwen2.5-0.5b-instruct`');
    expect(error.message).toContain('--model / ASSISTANT_LLM_MODEL');
  });

  it('a directory says so and suggests the .gguf inside it', async () => {
    const models = at('models');
    mkdirSync(models);
    writeFileSync(path.join(models, 'readme.txt'), 'x');
    const empty = await loadError(models);
    expect(empty.code).toBe('MODEL_MISSING');
    expectClean(empty, models);
    expect(empty.message).toContain(`${models} is a directory (with no .gguf file in it); --model / ASSISTANT_LLM_MODEL needs a .gguf file`);
    writeFileSync(path.join(models, 'chat.gguf'), ggufStub());
    const withModel = await loadError(models);
    expect(withModel.message).toBe(`${models} is a directory; --model / ASSISTANT_LLM_MODEL needs a .gguf file, e.g. ${path.join(models, 'chat.gguf')}.`);
  });

  it('every other way a path can be wrong gets a clean message naming it', async () => {
    writeFileSync(at('empty.gguf'), '');
    writeFileSync(at('text.gguf'), 'not a model at all');
    symlinkSync(at('loop-b'), at('loop-a'));
    symlinkSync(at('loop-a'), at('loop-b'));
    symlinkSync(at('gone.gguf'), at('dangling.gguf'));
    writeFileSync(at('file'), 'x');
    const cases: Array<[string, string, RegExp]> = [
      [at('empty.gguf'), 'MODEL_CORRUPT', /is empty/],
      [at('text.gguf'), 'MODEL_CORRUPT', /not a GGUF file/],
      [at('absent.gguf'), 'MODEL_MISSING', /does not exist/],
      [at('loop-a'), 'MODEL_CORRUPT', /loops back on itself/],
      [at('dangling.gguf'), 'MODEL_MISSING', /symbolic link to something that does not exist/],
      [path.join(at('file'), 'model.gguf'), 'MODEL_MISSING', /does not exist/],
      [`${at('empty.gguf')}/`, 'MODEL_MISSING', /ends in a slash, but .* is a file, not a directory; leave out the trailing slash/],
      ['/dev/null', 'MODEL_CORRUPT', /not a regular file/],
    ];
    for (const [modelPath, code, reason] of cases) {
      const error = await loadError(modelPath);
      expect({ modelPath, code: error.code }).toEqual({ modelPath, code });
      expect(error.message).toMatch(reason);
      expectClean(error, modelPath);
      expect(error.message).toMatch(/models pull|--model/);
    }
  });

  it('a damaged copy of a manifest model says to download that model again', async () => {
    const named = at('stories260K.gguf');
    writeFileSync(named, readFileSync(TEST_LLM_MODEL).subarray(0, 100_000));
    const error = await loadError(named);
    expect(error.code).toBe('MODEL_CORRUPT');
    expect(error.message).toMatch(/truncated/);
    expect(error.message).toContain('Download it again with `npx assistant models pull stories260k`');
  });

  it('a file with a sound header that llama.cpp still rejects gets llama.cpp\'s reason and the path', async () => {
    // Same bytes as the test model, but an architecture/tokenizer name llama.cpp does not know.
    const bytes = Buffer.from(readFileSync(TEST_LLM_MODEL));
    const first = bytes.indexOf('llama', 0, 'latin1');
    bytes.write('llamx', first, 'latin1');
    const renamed = at('unknown-arch.gguf');
    writeFileSync(renamed, bytes);
    const error = await loadError(renamed);
    expect(error.code).toBe('MODEL_CORRUPT');
    expectClean(error, renamed);
    expect(error.message).toContain(`${renamed} is not a usable GGUF model (llama.cpp could not load it: `);
    expect(error.message).toContain('llamx');
  });

  it('load errors never pass internal JS error text or stack frames through', () => {
    expect(loadErrorReason(new TypeError("Cannot read properties of undefined (reading 'architecture')"))).toBe(
      'it is damaged, or in a format this llama.cpp does not support',
    );
    const native = new Error('Failed to load model\n    at LlamaModel._create (file:///x.js:1:1)');
    expect(loadErrorReason(native)).toBe('Failed to load model');
  });
});

/** One answer from a loaded provider: what was streamed, and the result or the error. */
async function answer(provider: EmbeddedLlamaProvider, question = 'Once upon a time') {
  let streamed = '';
  const outcome = await provider
    .generate({ systemPrompt: 'You tell stories.', history: [], question, maxTokens: 64, signal: new AbortController().signal, onToken: (chunk) => (streamed += chunk) })
    .then(
      (result): { result?: LlmGenerateResult; error?: unknown } => ({ result }),
      (error: unknown): { result?: LlmGenerateResult; error?: unknown } => ({ error }),
    );
  return { streamed, ...outcome };
}

describe('EmbeddedLlamaProvider: a model whose weights are damaged', () => {
  it('tokens but no text end in GENERATION_FAILED that suggests models verify, not an empty answer', async () => {
    const damaged = at('stories-damaged.gguf');
    writeFileSync(damaged, damagedCopy(readFileSync(TEST_LLM_MODEL)));
    const provider = new EmbeddedLlamaProvider({ modelPath: damaged, threads: 1, contextSize: 256, fixHint: llmModelFixHint });
    try {
      // The header and the tensor table are intact: it loads.
      await provider.load();
      const { streamed, error } = await answer(provider);
      expect(streamed.trim()).toBe('');
      expect(error).toBeInstanceOf(AgentError);
      expect((error as AgentError).code).toBe('GENERATION_FAILED');
      expect((error as AgentError).message).toBe(
        `${damaged} generated 64 tokens but no text, which a working model does not do: the file is probably damaged. ` +
          `Check it with \`npx assistant models verify ${damaged}\`. ${llmModelFixHint(damaged)}`,
      );
    } finally {
      await provider.dispose();
    }
  });

  it('the pristine model still answers with text', async () => {
    const provider = new EmbeddedLlamaProvider({ modelPath: TEST_LLM_MODEL, threads: 1, contextSize: 256 });
    try {
      await provider.load();
      const { streamed, result } = await answer(provider);
      expect(result?.text.trim()).not.toBe('');
      expect(streamed).toBe(result?.text);
    } finally {
      await provider.dispose();
    }
  });

  it('whitespace, control characters and U+FFFD alone are no text; a word or a thought is', () => {
    for (const nothing of ['', ' \n\t ', '\u0000\u0007', '\uFFFD\uFFFD', '\u200B']) expect(hasVisibleText([nothing]), JSON.stringify(nothing)).toBe(false);
    for (const something of ['Hi', ' .', '\u00e9']) expect(hasVisibleText([something]), something).toBe(true);
    expect(hasVisibleText([{ type: 'segment', segmentType: 'thought', text: 'Let me think', ended: false }, ''])).toBe(true);
  });

  it('verifyFile failing stops the load with its error, even though llama.cpp could load the file', async () => {
    const refusal = new AgentError('MODEL_CORRUPT', 'not the manifest file');
    const checked: string[] = [];
    const provider = new EmbeddedLlamaProvider({
      modelPath: TEST_LLM_MODEL,
      threads: 1,
      contextSize: 256,
      verifyFile: async (file) => {
        checked.push(file);
        throw refusal;
      },
    });
    await expect(provider.load()).rejects.toBe(refusal);
    expect(checked).toEqual([TEST_LLM_MODEL]);
    // Nothing stays loaded: asking fails as for a provider that never loaded.
    await expect(answer(provider)).resolves.toMatchObject({ error: expect.objectContaining({ code: 'MODEL_NOT_READY' }) });
  });
});

describe('EmbeddedLlamaProvider: an answer that gave the model up goes on from where it stopped (real stories260K)', () => {
  it('streams only what follows the earlier part, and returns the whole answer', async () => {
    const provider = new EmbeddedLlamaProvider({ modelPath: TEST_LLM_MODEL, threads: 1, contextSize: 512 });
    await provider.load();
    try {
      const request = { systemPrompt: 'You tell short stories.', history: [], question: 'Once upon a time', maxTokens: 60 };
      const stop = new AbortController();
      let streamed = '';
      let chunks = 0;
      const first = await provider.generate({
        ...request,
        signal: stop.signal,
        onToken: (chunk) => {
          streamed += chunk;
          if (++chunks === 8) stop.abort();
        },
      });
      expect(first.aborted).toBe(true);
      expect(first.text).toBe(streamed);
      expect(first.text.length).toBeGreaterThan(0);

      // Another conversation takes the model in between, as another client's answer would.
      await provider.generate({ ...request, question: 'A dog ran', signal: new AbortController().signal, onToken: () => undefined });

      let more = '';
      const left = request.maxTokens - first.tokens;
      const rest = await provider.generate({ ...request, maxTokens: left, continueFrom: first.text, signal: new AbortController().signal, onToken: (chunk) => (more += chunk) });
      expect(rest.aborted).toBe(false);
      expect(rest.text.startsWith(first.text)).toBe(true);
      expect(rest.text).toBe(first.text + more);
      expect(more.length).toBeGreaterThan(0);
      expect(rest.tokens).toBeLessThanOrEqual(left);
    } finally {
      await provider.dispose();
    }
  });
});

describe('EmbeddedLlamaProvider: a prompt read ahead by prefill (a speculative turn) (real stories260K)', () => {
  it('leaves generate only the tokens not read yet, and gives the same answer', async () => {
    const provider = new EmbeddedLlamaProvider({ modelPath: TEST_LLM_MODEL, threads: 1, contextSize: 512 });
    await provider.load();
    try {
      const history = [
        { role: 'user' as const, text: 'Tell me about a cat.' },
        { role: 'assistant' as const, text: 'The cat sat in the sun and purred all day long.' },
      ];
      const request = { systemPrompt: 'You tell short stories to children.', history, question: 'What did the little dog do in the garden', maxTokens: 20 };
      const answer = (signal = new AbortController().signal) => provider.generate({ ...request, signal, onToken: () => undefined });
      // Another conversation in between, so each measured answer starts from a different prompt.
      const elsewhere = () => provider.generate({ systemPrompt: 'Be brief.', history: [], question: 'Hello', maxTokens: 2, signal: new AbortController().signal, onToken: () => undefined });

      await elsewhere();
      const cold = await answer();
      await elsewhere();
      await provider.prefill({ ...request, signal: new AbortController().signal });
      const prefilled = await answer();

      expect(cold.promptTokens).toBeGreaterThan(20);
      // Only the tokens that open the model's answer are left (the chat template's turn start), not the prompt.
      expect(prefilled.promptTokens).toBeLessThan(cold.promptTokens! / 4);
      expect(prefilled.text).toBe(cold.text);
    } finally {
      await provider.dispose();
    }
  });

  it('an aborted prefill leaves generate to read the prompt itself', async () => {
    const provider = new EmbeddedLlamaProvider({ modelPath: TEST_LLM_MODEL, threads: 1, contextSize: 512 });
    await provider.load();
    try {
      const stop = new AbortController();
      stop.abort();
      const request = { systemPrompt: 'You tell short stories.', history: [], question: 'A dog ran into the garden and', maxTokens: 10 };
      await provider.prefill({ ...request, signal: stop.signal });
      const result = await provider.generate({ ...request, signal: new AbortController().signal, onToken: () => undefined });
      expect(result.aborted).toBe(false);
      expect(result.promptTokens).toBeGreaterThan(5);
    } finally {
      await provider.dispose();
    }
  });
});

describe('EmbeddedLlamaProvider: a request samples with its own seed and temperature (real stories260K)', () => {
  it('two seeds at temperature 1 give two answers; one seed twice gives the same answer, whatever ran between', async () => {
    const provider = new EmbeddedLlamaProvider({ modelPath: TEST_LLM_MODEL, threads: 1, contextSize: 512 });
    await provider.load();
    try {
      const ask = async (question: string, sampling?: LlmSampling) => {
        let streamed = '';
        const result = await provider.generate({
          systemPrompt: 'You tell short stories.',
          history: [],
          question,
          maxTokens: 30,
          ...(sampling && { sampling }),
          signal: new AbortController().signal,
          onToken: (chunk) => (streamed += chunk),
        });
        expect(result.aborted).toBe(false);
        expect(streamed).toBe(result.text);
        return result.text;
      };
      for (const question of ['Once upon a time', 'A dog ran']) {
        const seed1 = await ask(question, { seed: 1, temperature: 1 });
        const seed2 = await ask(question, { seed: 2, temperature: 1 });
        const greedy = await ask(question);
        const seed1Again = await ask(question, { seed: 1, temperature: 1 });
        expect(seed1.trim(), question).not.toBe('');
        expect(seed2, question).not.toBe(seed1);
        expect(seed1Again, question).toBe(seed1);
        // Without sampling: the provider's default, greedy, the same every time.
        expect(await ask(question, { temperature: 0 }), question).toBe(greedy);
        // A seed alone samples (at node-llama-cpp's suggested temperature), or it would change nothing: a council
        // member listed twice gets seeds 1 and 2 only.
        const seedOnly = await ask(question, { seed: 1 });
        expect(seedOnly, question).toBe(await ask(question, { seed: 1, temperature: SEEDED_DEFAULT_TEMPERATURE }));
        expect(await ask(question, { seed: 2 }), question).not.toBe(seedOnly);
      }
    } finally {
      await provider.dispose();
    }
  });
});
