/**
 * PDF and DOCX → CommonMark, keeping the structure citations need: a PDF's pages become `## Page N` sections (so a
 * passage's heading says which page it is on), a DOCX's headings stay headings. Parsing happens in the `parley
 * ingest` process, never on a server's request path. Both parsers get hostile files: no code from the document
 * (pdf.js with eval and font loading off), and bounded work (pages, text, a zip's unpacked size).
 */
import { FileError, formatBytes } from './files.ts';
import { htmlToMarkdown } from './html.ts';

export interface ConvertedDocument {
  title: string | null;
  markdown: string;
}

/** Pages read from one PDF. */
const MAX_PDF_PAGES = 5000;
/** Characters of text kept from one file. */
const MAX_TEXT_CHARS = 20 * 1024 * 1024;
/** Unpacked size of a DOCX (a zip): a small file may unpack to gigabytes. */
const MAX_DOCX_UNPACKED = 256 * 1024 * 1024;

export async function pdfToMarkdown(bytes: Uint8Array): Promise<ConvertedDocument> {
  const { getDocument } = await import('pdfjs-dist/legacy/build/pdf.mjs');
  let doc;
  try {
    doc = await getDocument({
      data: new Uint8Array(bytes), // pdf.js takes ownership of the buffer it is given
      isEvalSupported: false,
      disableFontFace: true,
      useSystemFonts: false,
      stopAtErrors: false,
      verbosity: 0,
    }).promise;
  } catch (err) {
    const name = (err as Error)?.name ?? '';
    throw new FileError(name === 'PasswordException' ? 'PDF is password-protected' : 'not a readable PDF');
  }
  try {
    if (doc.numPages > MAX_PDF_PAGES) throw new FileError(`PDF has ${doc.numPages} pages, over the ${MAX_PDF_PAGES}-page limit`);
    const info = ((await doc.getMetadata().catch(() => null))?.info ?? {}) as { Title?: unknown };
    const title = typeof info.Title === 'string' && info.Title.trim() ? info.Title.trim() : null;
    const out: string[] = [];
    let chars = 0;
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      const content = await page.getTextContent();
      let line = '';
      const lines: string[] = [];
      for (const item of content.items) {
        if (!('str' in item)) continue;
        line += item.str;
        if (item.hasEOL) {
          lines.push(line);
          line = '';
        }
      }
      if (line) lines.push(line);
      page.cleanup();
      const text = lines.map((l) => l.replace(/\s+/g, ' ').trim()).filter(Boolean).join('\n');
      if (!text) continue;
      chars += text.length;
      if (chars > MAX_TEXT_CHARS) throw new FileError(`PDF text is over the ${formatBytes(MAX_TEXT_CHARS)} limit`);
      out.push(`## Page ${n}\n\n${escapeLines(text)}`);
    }
    if (!out.length) throw new FileError('PDF has no text (scanned pages need OCR first)');
    return { title, markdown: out.join('\n\n') };
  } finally {
    await doc.destroy();
  }
}

export async function docxToMarkdown(bytes: Buffer): Promise<ConvertedDocument> {
  const unpacked = zipUnpackedSize(bytes);
  if (unpacked === null) throw new FileError('not a readable DOCX (not a zip file)');
  if (unpacked > MAX_DOCX_UNPACKED) throw new FileError(`DOCX unpacks to ${formatBytes(unpacked)}, over the ${formatBytes(MAX_DOCX_UNPACKED)} limit`);
  const mammoth = (await import('mammoth')).default;
  let html: string;
  try {
    // Images are dropped (not inlined as data: URLs): only text is indexed.
    html = (await mammoth.convertToHtml({ buffer: bytes }, { convertImage: mammoth.images.imgElement(async () => ({ src: '' })) })).value;
  } catch {
    throw new FileError('not a readable DOCX');
  }
  if (html.length > MAX_TEXT_CHARS) throw new FileError(`DOCX text is over the ${formatBytes(MAX_TEXT_CHARS)} limit`);
  const h = htmlToMarkdown(html);
  return { title: h.title, markdown: h.markdown };
}

/** PDF text lines are text: the same escaping as HTML text, so nothing in them is read as markup. */
function escapeLines(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(/\\(?=[!-/:-@[-`{-~])/g, '\\\\').replace(/<(?=[A-Za-z/!?])/g, '\\<').replace(/[[\]`]/g, '\\$&').replace(/^(#{1,6}\s|[-*+]\s|\d+[.)]\s|>)/, '\\$1'))
    .join('\n');
}

/**
 * Sum of the unpacked sizes in a zip's central directory (what a DOCX would expand to), or null when the bytes are not
 * a zip. Read before any unpacking, so a zip bomb is refused without being opened.
 */
export function zipUnpackedSize(buf: Buffer): number | null {
  // End of central directory record: signature 0x06054b50 within the last 64 KiB + 22 bytes.
  const min = Math.max(0, buf.length - 65557);
  let eocd = -1;
  for (let i = buf.length - 22; i >= min; i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return null;
  const entries = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  let total = 0;
  for (let n = 0; n < entries; n++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) return null;
    const size = buf.readUInt32LE(p + 24);
    // 0xFFFFFFFF means a ZIP64 size: far beyond any limit here.
    total += size === 0xffffffff ? Number.MAX_SAFE_INTEGER / 2 : size;
    p += 46 + buf.readUInt16LE(p + 28) + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
  }
  return total;
}
