/** A file's bytes as base64, for `docs:upload`: the browser encodes it natively (a data: URL) instead of byte by byte in JS. */
export function readFileBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = typeof reader.result === 'string' ? reader.result : '';
      const comma = url.indexOf(',');
      if (comma === -1) reject(new Error('the browser did not return its contents'));
      else resolve(url.slice(comma + 1));
    };
    reader.onerror = () => reject(new Error(reader.error?.message ?? 'it could not be read (is it a folder?)'));
    reader.readAsDataURL(file);
  });
}
