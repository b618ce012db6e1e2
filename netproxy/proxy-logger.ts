/** What the proxy logs through: pino's shape, so the agent passes its child logger as it is. */
export interface ProxyLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentProxyLogger: ProxyLogger = { info() {}, warn() {}, error() {} };
