/**
 * Byte-level checks used to tell UTF-8 from GBK. Chinese files come in both; GBK text is almost never
 * well-formed UTF-8 (a GBK trail byte rarely continues a UTF-8 lead byte for long), so "valid UTF-8 →
 * UTF-8, otherwise GBK" is the detection rule of the readers.
 */

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** True when every byte is below 0x80: such text decodes identically as UTF-8 and GBK. */
export function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] >= 0x80) return false;
  return true;
}

/** True when `bytes` is well-formed UTF-8 (ASCII included). */
export function isUtf8(bytes: Uint8Array): boolean {
  try {
    STRICT_UTF8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * True when `bytes` is well-formed UTF-8, allowing one incomplete character at the very end (a stream
 * chunk, or a fixed-width DBF field, may stop in the middle of a character).
 */
export function isUtf8AllowingCutEnd(bytes: Uint8Array): boolean {
  let end = bytes.length;
  for (let i = end - 1; i >= Math.max(0, end - 3); i--) {
    const b = bytes[i];
    if ((b & 0xc0) === 0x80) continue;
    if (b >= 0xc0) {
      const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      if (end - i < length) end = i;
    }
    break;
  }
  return isUtf8(bytes.subarray(0, end));
}
