// Imports every test file of this folder.
import './conversations.test.ts';
import './responses.test.ts';
import './stream.test.ts';
import './auth.test.ts';
import './hostile.test.ts';
import './feedback-events.test.ts';
import './cluster.test.ts';
import './ops.test.ts';
import './recovery.test.ts';
import './admin.test.ts';
import './shared-limits.test.ts';
import './cors-shutdown.test.ts';
import './llm-e2e.test.ts';
import './load.test.ts';
import './fuzz.test.ts';
import './dialects.test.ts';
import './ids.test.ts';
