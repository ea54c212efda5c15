/**
 * Text files in the encodings companies have: a byte-order mark decides (UTF-8, UTF-16 LE/BE); otherwise valid
 * UTF-8 is UTF-8, and anything else is read as Windows-1252 (a superset of Latin-1 for text) — and reported, so that
 * nobody is surprised by a converted file, and "café" never becomes "caf�".
 */

export interface DecodedText {
  text: string;
  /** Set when the bytes were not plain UTF-8: what they were read as. */
  convertedFrom?: 'UTF-8 with BOM' | 'UTF-16LE' | 'UTF-16BE' | 'Windows-1252' | undefined;
}

export function decodeText(bytes: Uint8Array): DecodedText {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    // A UTF-8 BOM is common (Windows editors) and harmless: dropped, not reported.
    return { text: new TextDecoder('utf-8').decode(bytes.subarray(3)) };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { text: new TextDecoder('utf-16le').decode(bytes.subarray(2)), convertedFrom: 'UTF-16LE' };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { text: new TextDecoder('utf-16be').decode(bytes.subarray(2)), convertedFrom: 'UTF-16BE' };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { text: new TextDecoder('windows-1252').decode(bytes), convertedFrom: 'Windows-1252' };
  }
}
