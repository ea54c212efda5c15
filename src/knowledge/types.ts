/** What the assistant may ask of company knowledge. Every method enforces access lists inside its query. */

export interface KnowledgeHit {
  documentId: string;
  chunkId: string;
  /** Absolute URL of the document. */
  url: string;
  title: string;
  /** Heading path of the chunk inside the document, e.g. "Reset steps", or '' for the lead. */
  heading: string;
  /** The chunk's plain text (what a citation quotes from). */
  text: string;
  /** ISO 8601, when known. */
  updatedAt: string | null;
  score: number;
  /**
   * Added by Parley's knowledge layer: share (0–1) of the query's content terms found in this passage (title, heading
   * or body), each term weighted by its rarity. A low value means the passage only shares common words.
   */
  coverage?: number;
  /**
   * Share (0–1, by count) of the query's content words that no passage the asker may see uses in any form (after
   * synonyms, word forms and typo repair). Such words carry no weight in `coverage`; a high value means much of the
   * question is about something this knowledge base does not mention.
   */
  unseen?: number;
  /**
   * Like `coverage`, but the question's unknown topic words (not words about the asker's circumstances) count too,
   * each at half the weight of the rarest known word: low when the question is mostly about something unmentioned.
   */
  support?: number;
  /** Like `coverage`, for the passage's document: the question terms held by any of its passages that were found. */
  docCoverage?: number;
  /** How many of the question's known terms the passage holds. */
  matchedTerms?: number;
  /** Rarity of the rarest question word in the passage, against a word only one visible passage uses (0–1). */
  specificity?: number;
  /** Those words (the asker's own, lower-cased): the same for every hit of one search. */
  unseenWords?: string[];
  /**
   * Question words (or phrases) no visible passage uses that were searched for in the back-off lexicon's words
   * instead (see lexicon.ts), at a reduced weight: the same for every hit of one search.
   */
  backoffWords?: string[];
  /** Cosine similarity to the query when dense retrieval is configured and this passage was a dense match. */
  similarity?: number;
}

export interface Person {
  id: string;
  name: string;
  email: string;
  title: string;
  department: string;
  location: string;
  phone: string;
  managerId: string | null;
  managerName: string | null;
  groups: string[];
  /** Absolute URL of the directory entry. */
  url: string;
}

export interface PersonMatch {
  person: Person;
  /** 1 = exact full-name match; lower for partial names and typos. */
  score: number;
}

export interface SearchOptions {
  limit?: number;
}

export interface Knowledge {
  /** Ranked passages visible to `principals` (filtered before ranking). */
  search(assistant: string, principals: readonly string[], query: string, opts?: SearchOptions): Promise<KnowledgeHit[]>;
  /** People whose name (or email) matches `query`, tolerating case, partial names and small typos; best first. */
  findPeople(assistant: string, query: string, opts?: SearchOptions): Promise<PersonMatch[]>;
  getPerson(assistant: string, id: string): Promise<Person | null>;
  getPersonByEmail(assistant: string, email: string): Promise<Person | null>;
  directReports(assistant: string, personId: string): Promise<Person[]>;
  /** Head of a department (the person in it whose manager is outside it), if any. */
  departmentHead(assistant: string, department: string): Promise<Person | null>;
  /** Known department names (for routing questions like "who leads finance"). */
  departments(assistant: string): Promise<string[]>;
}
