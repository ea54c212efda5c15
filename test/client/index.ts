// Imports every test file of this folder.
import './client.test.ts';
import './sse.test.ts';
