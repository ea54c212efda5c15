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
    return { text: decodeWindows1252(bytes), convertedFrom: 'Windows-1252' };
  }
}

/**
 * Windows-1252 → text. By hand, because Node 20's TextDecoder('windows-1252') decodes as ISO-8859-1, turning
 * 0x80–0x9F (€, curly quotes, dashes) into control characters. The five bytes the code page leaves undefined are
 * kept as the same code points, as the WHATWG decoder does.
 */
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

export function decodeWindows1252(bytes: Uint8Array): string {
  const parts: string[] = [];
  const CHUNK = 8192;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    const codes: number[] = [];
    for (const b of bytes.subarray(i, i + CHUNK)) codes.push(b >= 0x80 && b <= 0x9f ? CP1252_HIGH[b - 0x80]! : b);
    parts.push(String.fromCharCode(...codes));
  }
  return parts.join('');
}
