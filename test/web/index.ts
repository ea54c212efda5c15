// Imports every test file of this folder.
import './signin-link.test.ts';
import './page.test.ts';
import './oidc-routes.test.ts';
