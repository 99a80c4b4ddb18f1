/** `host:port`, with an IPv6 address in brackets (`[::1]:80`): listener keys, backend names, logs. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
