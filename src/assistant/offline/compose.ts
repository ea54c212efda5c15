/**
 * Builds an answer piece by piece and turns it into growing snapshots. Each piece may carry citations; their
 * references point (in Unicode code points, per the contract) just after that piece's sentence.
 */
import type { EngineCitation, EngineEvent, EngineReference } from '../engine.ts';
import { codePointLength } from '../text.ts';

interface Piece {
  text: string;
  /** Separator written before this piece ('' for the first). */
  sep: string;
  keys: string[];
}

export class AnswerBuilder {
  private readonly pieces: Piece[] = [];
  private readonly citations = new Map<string, EngineCitation>();

  /** Adds a sentence (or list item, or paragraph) supported by `cites`. `sep` defaults to a space. */
  add(text: string, cites: readonly EngineCitation[] = [], sep = ' '): this {
    const keys: string[] = [];
    for (const c of cites) {
      if (!this.citations.has(c.key)) this.citations.set(c.key, c);
      if (!keys.includes(c.key)) keys.push(c.key);
    }
    this.pieces.push({ text, sep: this.pieces.length ? sep : '', keys });
    return this;
  }

  /** Starts a new paragraph. */
  paragraph(text: string, cites: readonly EngineCitation[] = []): this {
    return this.add(text, cites, '\n\n');
  }

  /** Adds a list item (a blank line before the first item of a list). */
  item(text: string, cites: readonly EngineCitation[] = [], first = false): this {
    return this.add(text, cites, first ? '\n\n' : '\n');
  }

  get length(): number {
    return this.pieces.length;
  }

  /** The message after the first `count` pieces (all by default): only citations referenced so far are included. */
  snapshot(count = this.pieces.length): Extract<EngineEvent, { type: 'message' }> {
    let text = '';
    let offset = 0;
    const references: EngineReference[] = [];
    const used: string[] = [];
    for (const p of this.pieces.slice(0, count)) {
      const chunk = p.sep + p.text;
      text += chunk;
      offset += codePointLength(chunk);
      // The reference goes after the sentence itself, before any trailing whitespace.
      const trailing = codePointLength(chunk) - codePointLength(chunk.trimEnd());
      for (const key of p.keys) {
        references.push({ key, offset: offset - trailing });
        if (!used.includes(key)) used.push(key);
      }
    }
    return {
      type: 'message',
      text,
      citations: used.map((k) => this.citations.get(k)!),
      references,
    };
  }

  /** Snapshots that grow piece by piece (grouped so there are at most `max`), the last one complete. */
  snapshots(max = 8): Extract<EngineEvent, { type: 'message' }>[] {
    const n = this.pieces.length;
    if (n === 0) return [];
    const step = Math.max(1, Math.ceil(n / max));
    const out: Extract<EngineEvent, { type: 'message' }>[] = [];
    for (let i = step; i < n; i += step) out.push(this.snapshot(i));
    out.push(this.snapshot(n));
    return out;
  }
}
