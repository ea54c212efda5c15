// Builds `parley/client` for plain Node and bundlers (dist/client/index.js); run by `npm install` (prepare).
import { build } from 'esbuild';

await build({
  entryPoints: ['src/client/index.ts'],
  outfile: 'dist/client/index.js',
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  logLevel: 'warning',
});
