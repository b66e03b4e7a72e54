/** A CommandIo that keeps what a command writes, for running CLI commands in-process in tests. */
export function bufferIo() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (text: string) => (out.stdout += text) }, stderr: { write: (text: string) => (out.stderr += text) } } };
}
