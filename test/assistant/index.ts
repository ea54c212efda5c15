// Imports every test file of this folder.
import './compose.test.ts';
import './offline-people.test.ts';
import './offline-knowledge.test.ts';
import './offline-directory.test.ts';
import './router-linear.test.ts';
import './greeting.test.ts';
import './offline-retrieval.test.ts';
import './bounded-question.test.ts';
import './clock.test.ts';
import './offline-answerability.test.ts';
