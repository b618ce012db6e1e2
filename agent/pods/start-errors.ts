/**
 * Why a container could not be started, by the reason the API shows for it. One class; callers
 * branch on `reason`.
 */
type StartErrorReason =
  | 'ErrImagePull'
  | 'ErrImageNeverPull'
  | 'InvalidImageName'
  | 'CreateContainerConfigError'
  | 'CreateContainerError'
  | 'RunContainerError'
  | 'PostStartHookError'
  /** A volume could not be set up; the pod keeps waiting in ContainerCreating and it is retried. */
  | 'ContainerCreating';

export class ContainerStartError extends Error {
  readonly reason: StartErrorReason;
  constructor(reason: StartErrorReason, message: string) {
    super(message);
    this.name = 'ContainerStartError';
    this.reason = reason;
  }
}

export const configError = (message: string) => new ContainerStartError('CreateContainerConfigError', message);
