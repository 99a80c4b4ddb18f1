/**
 * Start a server or socket listening and resolve once it does; reject with the bind error
 * (EADDRINUSE, EACCES, …) instead of letting it surface as an 'error' event nobody awaits.
 */
export interface ErrorEmitter {
  once(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
}

export function listening(target: ErrorEmitter, start: (onListening: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    target.once('error', onError);
    start(() => {
      target.off('error', onError);
      resolve();
    });
  });
}
