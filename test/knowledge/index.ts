// Imports every test file of this folder.
import './parse.test.ts';
import './principals.test.ts';
import './chunk.test.ts';
import './ingest.test.ts';
import './search.test.ts';
import './people.test.ts';
import './role-search.test.ts';
import './embeddings.test.ts';
import './demo.test.ts';
import './cli-ingest.test.ts';
import './ingest-security.test.ts';
import './metadata.test.ts';
import './sources-prune.test.ts';
import './formats.test.ts';
import './people-urls.test.ts';
import './site.test.ts';
import './identity-migration.test.ts';
