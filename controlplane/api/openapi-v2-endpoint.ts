/**
 * Serving /openapi/v2 (and the older /swagger-2.0.0.pb-v1): JSON or gnostic protobuf as `Accept`
 * asks, both rendered once on first use (the document only changes with the binary), with an
 * ETag so a client holding the current copy gets 304.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from '../../kube/errors.ts';
import { negotiateMediaType } from './media-type-negotiation.ts';
import { openApiV2Document } from './openapi-v2.ts';
import { servedGeneration } from './resources.ts';
import { encodeOpenApiV2, openApiV2ProtobufContentType, openApiV2ProtobufType } from './openapi-v2-protobuf.ts';

interface Rendition {
  readonly body: Buffer;
  readonly etag: string;
}
type Renditions = Record<'application/json' | typeof openApiV2ProtobufType, Rendition>;

const etagOf = (body: Buffer): string =>
  `"${createHash('sha512').update(body).digest('hex').slice(0, 64).toUpperCase()}"`;

export class OpenApiV2Endpoint {
  readonly #version: string;
  #renditions: Renditions | undefined;
  /** The served custom resources the renditions were made with. */
  #generation = -1;

  constructor(version: string) {
    this.#version = version;
  }

  #render(): Renditions {
    if (this.#renditions === undefined || this.#generation !== servedGeneration()) {
      this.#generation = servedGeneration();
      const doc = openApiV2Document(this.#version);
      const json = Buffer.from(JSON.stringify(doc));
      const proto = Buffer.from(encodeOpenApiV2(doc));
      this.#renditions = {
        'application/json': { body: json, etag: etagOf(json) },
        [openApiV2ProtobufType]: { body: proto, etag: etagOf(proto) },
      };
    }
    return this.#renditions;
  }

  /** `legacyPath` is /swagger-2.0.0.pb-v1, which only ever served protobuf. */
  serve(req: IncomingMessage, res: ServerResponse, legacyPath: boolean): void {
    const offers = legacyPath
      ? ([openApiV2ProtobufType] as const)
      : (['application/json', openApiV2ProtobufType] as const);
    const chosen = negotiateMediaType(req.headers.accept, offers);
    if (chosen === undefined) throw new ApiError('NotAcceptable', `only ${offers.join(' and ')} are served`);
    const { body, etag } = this.#render()[chosen];
    const headers = {
      ETag: etag,
      Vary: 'Accept',
      'Cache-Control': 'no-cache, private',
      'Content-Type': chosen === openApiV2ProtobufType ? openApiV2ProtobufContentType : chosen,
    };
    if (req.headers['if-none-match']?.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Length': body.length });
    res.end(body);
  }
}
