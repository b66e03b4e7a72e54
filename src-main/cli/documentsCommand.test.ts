import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDataDir } from '../testing/agentTestSupport.js';
import { cliBuilt, runAssistantCli } from '../testing/cliProcess.js';
import { CORPUS, writeCorpus } from '../testing/documentCorpus.js';
import { writeScannedPdf } from '../testing/pdfFixture.js';

/**
 * `assistant ingest`, `docs list|rm` and `search` as a user runs them: the built CLI in its own process, with a real
 * Chroma server and the real embedder, and the JSON lines the issue names.
 */
describe.skipIf(!cliBuilt)('assistant ingest / docs / search', () => {
  const root = tempDataDir('docs-cli-');
  const profile = path.join(root, 'profile');
  const corpus = path.join(root, 'corpus');
  const env = { ASSISTANT_DATA_DIR: profile };
  const run = (args: string[]) => runAssistantCli(args, { env, deadlineMs: 90_000 });

  beforeAll(() => {
    writeCorpus(corpus);
    fs.writeFileSync(path.join(corpus, 'empty.txt'), '');
    writeScannedPdf(path.join(corpus, 'scan.pdf'));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('ingest --json prints a progress event per file and the final summary; bad files are named with their reason (exit 1)', async () => {
    const result = await run(['ingest', corpus, '--json']);
    expect(result.code).toBe(1);
    const files = result.events.filter((event) => event.type === 'docs-progress' && event.file).map((event) => path.basename((event.file as { source: string }).source));
    expect(files.sort()).toEqual([...Object.keys(CORPUS), 'empty.txt', 'scan.pdf'].sort());
    const summary = result.events.at(-1)!;
    expect(summary).toMatchObject({ type: 'ingested', documents: Object.keys(CORPUS).length, unchanged: 0 });
    expect(summary.chunks).toBeGreaterThanOrEqual(Object.keys(CORPUS).length);
    const failed = summary.failed as Array<{ source: string; reason: string }>;
    expect(failed.map((f) => path.basename(f.source)).sort()).toEqual(['empty.txt', 'scan.pdf']);
    expect(failed.find((f) => f.source.endsWith('scan.pdf'))!.reason).toMatch(/no text layer \(scanned\?\)/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('ingesting again changes nothing and says so', async () => {
    fs.rmSync(path.join(corpus, 'empty.txt'));
    fs.rmSync(path.join(corpus, 'scan.pdf'));
    const result = await run(['ingest', corpus]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`0 documents ingested \\(0 chunks\\), ${Object.keys(CORPUS).length} unchanged`));
  });

  it('search --json finds the right file for a paraphrase, with source path, chunk, score and text; nothing for an unrelated query', async () => {
    const hit = await run(['search', 'which tyres grip best on snow and ice', '--json']);
    expect(hit.code).toBe(0);
    const results = hit.events[0]!.results as Array<{ source: string; chunk: number; score: number; text: string }>;
    expect(hit.events[0]!.type).toBe('results');
    expect(results[0]!.source).toBe(path.join(corpus, 'winter-tyres.html'));
    expect(results[0]).toMatchObject({ chunk: 0, text: expect.stringMatching(/rubber compound/) });
    expect(results[0]!.score).toBeGreaterThan(0.35);

    const miss = await run(['search', 'Who painted the Mona Lisa?', '--json']);
    expect(miss.events[0]).toEqual({ type: 'results', results: [] });
  });

  it('docs list and docs rm by path', async () => {
    const listed = await run(['docs', 'list', '--json']);
    const documents = listed.events[0]!.documents as Array<{ id: string; source: string; chunks: number; bytes: number; ingestedAt: number }>;
    expect(documents.map((d) => path.basename(d.source)).sort()).toEqual(Object.keys(CORPUS).sort());
    expect(documents[0]).toEqual({ id: expect.any(String), source: expect.any(String), chunks: expect.any(Number), bytes: expect.any(Number), ingestedAt: expect.any(Number) });

    const removed = await run(['docs', 'rm', path.join(corpus, 'flat-tyre.html')]);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toBe('Removed 1 document.\n');
    const after = await run(['search', 'how do I put the spare wheel on after a puncture', '--json']);
    expect((after.events[0]!.results as Array<{ source: string }>).map((r) => path.basename(r.source))).not.toContain('flat-tyre.html');
  });

  it('bad input gets one clear line and a non-zero exit, never a stack trace', async () => {
    const cases: Array<{ args: string[]; code: number; message: RegExp }> = [
      { args: ['ingest'], code: 2, message: /Give at least one path/ },
      { args: ['ingest', path.join(root, 'nope')], code: 1, message: /does not exist/ },
      { args: ['search', '   '], code: 2, message: /Give a query/ },
      { args: ['search', 'x', '--limit', 'lots'], code: 2, message: /--limit must be a whole number/ },
      { args: ['docs', 'rm', 'no-such-document'], code: 1, message: /No ingested document is no-such-document/ },
      { args: ['docs', 'frobnicate'], code: 2, message: /Unknown docs action/ },
    ];
    for (const { args, code, message } of cases) {
      const result = await run(args);
      expect(result.code, args.join(' ')).toBe(code);
      expect(result.stdout + result.stderr, args.join(' ')).toMatch(message);
      expect(result.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
    }
  });
});
