import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const depcruise = path.join(root, 'node_modules', '.bin', 'depcruise');
const run = promisify(execFile);

/** Runs dependency-cruiser with the project's rules on a small tree of files; returns its exit code and report. */
async function cruise(files: Record<string, string>): Promise<{ code: number; report: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'depcruise-'));
  cpSync(path.join(root, '.dependency-cruiser.cjs'), path.join(dir, '.dependency-cruiser.cjs'));
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }));
  mkdirSync(path.join(dir, 'src-shared'));
  for (const [file, source] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), source);
  }
  try {
    const { stdout } = await run(depcruise, ['--config', '.dependency-cruiser.cjs', 'src-main', 'src-shared'], { cwd: dir });
    return { code: 0, report: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, report: failed.stdout + failed.stderr };
  }
}

describe('npm run lint: the layer order is enforced by dependency-cruiser', () => {
  it('the project itself passes', async () => {
    const { stdout } = await run(depcruise, ['--config', '.dependency-cruiser.cjs', 'src-main', 'src-shared', 'src-renderer'], { cwd: root });
    expect(stdout).toContain('no dependency violations found');
  }, 60_000);

  it('rejects an agent → voice import, and accepts the same import the other way round', async () => {
    const voice = "export const hear = 1;\n";
    const bad = await cruise({
      'src-main/voice/voiceSession.node.ts': voice,
      'src-main/agent/turn/runner.node.ts': "import { hear } from '../../voice/voiceSession.node.js';\nexport const x = hear;\n",
    });
    expect(bad.code).not.toBe(0);
    expect(bad.report).toContain('agent-imports-only-shared');

    const good = await cruise({
      'src-main/agent/turn/runner.node.ts': 'export const x = 1;\n',
      'src-main/voice/voiceSession.node.ts': "import { x } from '../agent/turn/runner.node.js';\nexport const hear = x;\n",
    });
    expect(good.code).toBe(0);
  }, 60_000);

  it('rejects features importing a host, and product code importing a test fixture', async () => {
    const result = await cruise({
      'src-main/cli/commandIo.ts': 'export const io = 1;\n',
      'src-main/testing/ollamaProtocolServer.node.ts': 'export const server = 1;\n',
      'src-main/voice/voiceCommand.node.ts': "import { io } from '../cli/commandIo.js';\nexport const y = io;\n",
      'src-main/agent/llm/ollama.node.ts': "import { server } from '../../testing/ollamaProtocolServer.node.js';\nexport const z = server;\n",
    });
    expect(result.report).toContain('features-below-app');
    expect(result.report).toContain('no-test-fixtures-in-the-product');
  }, 60_000);
});
