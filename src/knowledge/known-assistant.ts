/** Ingest targets a configured assistant: data loaded for any other name could never be asked about. */
import type { Config } from '../config.ts';

/** The message for an unknown assistant, or null when `name` is configured. */
export function unknownAssistant(config: Pick<Config, 'assistants'>, name: string): string | null {
  if (config.assistants.some((a) => a.name === name)) return null;
  const known = config.assistants.map((a) => a.name).join(', ');
  return `unknown assistant "${name.slice(0, 200)}": configured assistants are ${known}`;
}
