#!/usr/bin/env node
// Runs the TypeScript sources through tsx's loader, so `npm start` and `npx parley` need no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
