/** Where long work reports how far it is; silent unless stderr is a terminal. */
export interface Progress {
  step(message: string): void;
}

export const silent: Progress = { step: () => {} };

export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  return stream.isTTY ? { step: (m) => stream.write(`${m}\n`) } : silent;
}
