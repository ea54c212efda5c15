// Imports every test file of this folder.
import './conformance.test.ts';
import './eval-dataset.test.ts';
import './openapi-client.test.ts';
