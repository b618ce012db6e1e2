/**
 * Whether a response goes out as protobuf: when the client's Accept header names
 * application/vnd.kubernetes.protobuf before any JSON type it takes (client-go sends
 * "application/vnd.kubernetes.protobuf" followed by the any-type range when its content type is protobuf). A protobuf range
 * asking for a conversion (as=Table, as=PartialObjectMetadata) is not served as protobuf here.
 */
import { ApiError } from '../../../kube/errors.ts';
import { negotiateMediaType } from '../media-type-negotiation.ts';
import { protobufMediaType } from './envelope.ts';

export function wantsProtobuf(accept: string | undefined): boolean {
  for (const range of (accept ?? '').split(',')) {
    const [type = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    if (type === protobufMediaType) {
      if (!parameters.some((parameter) => parameter.startsWith('as='))) return true;
    } else if (type === 'application/json' || type === '*/*' || type === 'application/*') {
      return false;
    }
  }
  return false;
}

/**
 * Custom resources are served as JSON and YAML only, as upstream serves them: a client that asks
 * for protobuf and takes neither (protobuf alone) gets upstream's 406, one that also takes JSON or
 * any type gets JSON. Other Accept headers are answered in JSON as before.
 */
export function customResourceNotAcceptable(accept: string | undefined, watch: boolean): ApiError | undefined {
  if (!wantsProtobuf(accept) || negotiateMediaType(accept, ['application/json', 'application/yaml']) !== undefined)
    return undefined;
  const served = watch ? 'application/json;stream=watch' : 'application/json, application/yaml';
  return new ApiError('NotAcceptable', `only the following media types are accepted: ${served}`);
}
