// Imports every test file of this folder.
import './markers.test.ts';
import './sources.test.ts';
import './llm-engine.test.ts';
import './multi-search.test.ts';
