/** The language-model engine (OpenAI-compatible providers); everything else in this folder is internal. */
export { createLlmEngine, type LlmEngineOptions } from './llm-engine.ts';
