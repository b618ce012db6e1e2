/**
 * HTTP/2 carries no connection-specific header fields (RFC 9113 8.2.2), and Node throws when a
 * response names one, after which the stream can neither answer nor report the error. The
 * handler, the watch stream and the proxies were written for HTTP/1.1 and pass some on (a watch's
 * `Transfer-Encoding: chunked`, `Connection: close` after an unread body, a backend's answer
 * headers); on an HTTP/2 response they are dropped here, in one place, whatever path sets them.
 */
import type { Http2ServerResponse, OutgoingHttpHeaders } from 'node:http2';

/** The header fields Node refuses on an HTTP/2 message (`te` is allowed only as "trailers", never needed in an answer). */
const connectionSpecific: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'te',
]);

function isConnectionSpecific(name: string): boolean {
  return connectionSpecific.has(name.toLowerCase());
}

/** The headers without the connection-specific ones (a new object; the input is left as it is). */
function withoutConnectionFields(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const kept: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!isConnectionSpecific(name)) kept[name] = value;
  return kept;
}

/** The response, made to ignore connection-specific headers in setHeader and writeHead. */
export function withoutConnectionHeaders(res: Http2ServerResponse): Http2ServerResponse {
  const setHeader = res.setHeader.bind(res);
  const writeHead = res.writeHead.bind(res) as (code: number, ...rest: unknown[]) => Http2ServerResponse;
  res.setHeader = (name: string, value: number | string | readonly string[]) =>
    isConnectionSpecific(name) ? res : setHeader(name, value);
  res.writeHead = ((code: number, ...rest: unknown[]) =>
    writeHead(
      code,
      ...rest.map((arg) =>
        typeof arg === 'object' && arg !== null && !Array.isArray(arg)
          ? withoutConnectionFields(arg as OutgoingHttpHeaders)
          : arg,
      ),
    )) as Http2ServerResponse['writeHead'];
  return res;
}
