/** One Server-Sent Event as framed on the wire (contract §5: `id`, `event`, one `data` line). */
export interface SseFrame {
  id: string | undefined;
  event: string;
  data: string;
}

/**
 * Parses an SSE byte stream into frames (the WHATWG event-stream rules: CRLF, LF or CR line ends, `:` comments,
 * multi-line data joined by LF). `onBytes` is called for every chunk, comments included, so a caller can watch
 * for a silent connection.
 */
export async function* readSse(body: ReadableStream<Uint8Array>, onBytes: () => void = () => undefined): AsyncGenerator<SseFrame> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let id: string | undefined;
  let event = '';
  let data: string[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (!done) {
        onBytes();
        buf += decoder.decode(value, { stream: true });
      }
      for (;;) {
        const m = /\r\n|\n|\r/.exec(buf);
        // A lone CR at the end of the buffer may be the first half of CRLF: wait for more (unless no more comes).
        if (!m || (!done && m[0] === '\r' && m.index === buf.length - 1)) break;
        const line = buf.slice(0, m.index);
        buf = buf.slice(m.index + m[0].length);
        if (line === '') {
          if (data.length) yield { id, event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') data.push(value);
        else if (field === 'event') event = value;
        else if (field === 'id' && !value.includes('\0')) id = value;
      }
      if (done) return;
    }
  } finally {
    // Stop the download when the consumer stops early; ignore errors of an already broken stream.
    reader.cancel().catch(() => undefined);
  }
}
