/**
 * The server's own configuration files (EncryptionConfiguration, audit Policy) are YAML or JSON
 * documents in upstream's formats; a syntax error becomes one line in the caller's error type.
 */
import { load } from 'js-yaml';

export function loadConfigDocument(text: string, error: (message: string) => Error): unknown {
  try {
    return load(text);
  } catch (err) {
    throw error(`not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}
