/** A request the kubelet port refuses: the HTTP status and the one line the client sees. */
export class KubeletRequestError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'KubeletRequestError';
    this.status = status;
  }
}
