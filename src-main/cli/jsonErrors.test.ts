import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDataDir } from '../testing/agentTestSupport.js';
import { cliBuilt, runAssistantCli } from '../testing/cliProcess.js';

const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runAssistantCli(args, { env: { ASSISTANT_DATA_DIR: tempDataDir('cli-json-errors-'), ...env }, deadlineMs: 30_000 });

describe.skipIf(!cliBuilt)('--json errors (spawned CLI)', () => {
  it('prints usage and setting errors as one NDJSON error line, exit 2', async () => {
    const cases: Array<[string[], NodeJS.ProcessEnv, string]> = [
      [['chat', '--json', '--threads', '0'], {}, 'INVALID_SETTING'],
      [['chat', '--json'], { ASSISTANT_LLM_THREADS: '0' }, 'INVALID_SETTING'],
      [['chat', '--json', '--bogus'], {}, 'USAGE'],
      [['stats', '--json', '--recent', 'abc'], {}, 'INVALID_SETTING'],
      [['serve', '--json', '--port', '99999'], {}, 'INVALID_SETTING'],
      [['chat', '--json', 'hi'], { OLLAMA_HOST: 'not a url' }, 'INVALID_SETTING'],
    ];
    for (const [args, env, code] of cases) {
      const result = await run(args, env);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(result.events, args.join(' ')).toEqual([{ type: 'error', code, message: expect.any(String) }]);
    }
  });

  it('names OLLAMA_HOST, caps --recent and --port with clear messages', async () => {
    expect((await run(['chat', 'hi'], { OLLAMA_HOST: 'not a url' })).stderr).toBe(
      'OLLAMA_HOST must be an http(s) URL such as http://127.0.0.1:11434; got "not a url".\n',
    );
    const stats = await run(['stats', '--recent', '99999999999999999999']);
    expect(stats.code).toBe(2);
    expect(stats.stderr).toBe('--recent must be a whole number from 1 to 1000000; got "99999999999999999999".\n');
    const serve = await run(['serve', '--port', 'abc']);
    expect(serve.code).toBe(2);
    expect(serve.stderr).toContain('--port must be a whole number from 0 to 65535');
  });

  it('exits 2 on a bad ASSISTANT_MODELS_MANIFEST in chat as in models list', async () => {
    const manifest = path.join(tempDataDir('cli-bad-manifest-'), 'bad.json');
    writeFileSync(manifest, '{');
    expect((await run(['chat', 'hi'], { ASSISTANT_MODELS_MANIFEST: manifest })).code).toBe(2);
    expect((await run(['models', 'list'], { ASSISTANT_MODELS_MANIFEST: manifest })).code).toBe(2);
  });
});
