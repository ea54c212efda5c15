/** The knowledge layer's public surface. */
export { createKnowledge, type KnowledgeOptions, type ParleyKnowledge } from './knowledge.ts';
export { parseSources, type ParseOptions } from './parse.ts';
export { applyIngest, ingestPayloadSchema, IngestRefused, type ApplyOptions } from './ingest.ts';
export { listIngests, historyLine, type IngestRecord } from './ingest-history.ts';
export { loadDemoData, DEMO_DIR } from './demo.ts';
export { resolvePrincipals, withDirectoryGroups } from './principals.ts';
export { createEmbedder, type EmbeddingsConfig, type Embedder } from './embeddings.ts';
export type * from './sources.ts';
export type * from './types.ts';
