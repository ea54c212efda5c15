import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { z } from 'zod';
import { pluginSchema, type PluginConfig } from './config.ts';

/** The demo's plugin definitions (a real configuration's `plugins:` in the same shape). */
const DEMO_PLUGINS_FILE = fileURLToPath(new URL('../../demo/plugins/plugins.yaml', import.meta.url));
const PLACEHOLDER_ORIGIN = 'http://demo-plugins.localhost';

/** The demo plugins, pointed at the demo service's address; validated like any configured plugin. */
export function demoPlugins(serviceUrl: string): PluginConfig[] {
  const text = readFileSync(DEMO_PLUGINS_FILE, 'utf8').split(PLACEHOLDER_ORIGIN).join(serviceUrl);
  return z.array(pluginSchema).parse(YAML.parse(text)).map((p) => ({ ...p, resolvedHeaders: p.request.headers, secretValues: [] }));
}

export { startDemoPluginService, type DemoPluginService } from '../../demo/plugins/service.ts';
