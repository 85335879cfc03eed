/**
 * Image types accepted as case photos (处置前/处置后), recognised by their first bytes, never by the name
 * or the declared Content-Type (issue #11: "type checked by content").
 * @returns the MIME type, or null when the bytes are not one of JPEG, PNG, WebP or GIF
 * @example imageType(Buffer.from([0xff, 0xd8, 0xff, 0xe0])) // 'image/jpeg'
 */
export function imageType(bytes: Uint8Array): 'image/jpeg' | 'image/png' | 'image/webp' | 'image/gif' | null {
  const starts = (sig: number[], at = 0) => bytes.length >= at + sig.length && sig.every((b, i) => bytes[at + i] === b);
  if (starts([0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return 'image/webp';
  if (starts([0x47, 0x49, 0x46, 0x38]) && (starts([0x37, 0x61], 4) || starts([0x39, 0x61], 4))) return 'image/gif';
  return null;
}

/** Largest photo accepted: a phone photo re-encoded by the reporting app is well under this. */
export const PHOTO_LIMIT_BYTES = 5 * 1024 * 1024;
