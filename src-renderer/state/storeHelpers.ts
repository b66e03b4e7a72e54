/** An error's message for the UI (a thrown non-Error as text). */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `record` with `key` set to `value`, as a new object (zustand state is never changed in place). */
export function withEntry<T>(record: Record<string, T>, key: string, value: T): Record<string, T> {
  return { ...record, [key]: value };
}

/** `record` without `key`, as a new object; the same object when it had no such key. */
export function withoutEntry<T>(record: Record<string, T>, key: string): Record<string, T> {
  if (!(key in record)) return record;
  const { [key]: _removed, ...rest } = record;
  return rest;
}
