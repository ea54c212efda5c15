/** The built-in offline engine. */
export { createOfflineEngine, type OfflineEngineOptions } from './engine.ts';
export type { OfflineKnowledge } from './directory-cite.ts';
