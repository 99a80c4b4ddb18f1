// Sample apps for `pacer demo`: one per networking mode and protocol pacer handles.
import type { BackendKind } from './types.ts';

export interface DemoApp {
  app: object;
  backend: BackendKind;
  autoHealthy?: boolean;
}

export function demoApps(): DemoApp[] {
  return [
    {
      backend: 'http',
      autoHealthy: true,
      app: {
        id: '/demo/web',
        cmd: 'python3 -m http.server $PORT0',
        instances: 2,
        cpus: 0.1,
        mem: 64,
        labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'web.demo.local' },
        portDefinitions: [{ port: 10001, name: 'http', protocol: 'tcp' }],
        healthChecks: [{ protocol: 'HTTP', path: '/', portIndex: 0, gracePeriodSeconds: 30, intervalSeconds: 10, timeoutSeconds: 5, maxConsecutiveFailures: 3 }],
      },
    },
    {
      backend: 'tcp',
      app: {
        id: '/demo/echo',
        cmd: 'socat TCP-LISTEN:$PORT0,fork EXEC:cat',
        instances: 2,
        cpus: 0.1,
        mem: 32,
        labels: { HAPROXY_GROUP: 'external' },
        portDefinitions: [{ port: 10002, name: 'echo', protocol: 'tcp' }],
      },
    },
    {
      backend: 'udp',
      app: {
        id: '/demo/dns-udp',
        cmd: 'socat UDP-LISTEN:$PORT0,fork EXEC:cat',
        instances: 2,
        cpus: 0.1,
        mem: 32,
        labels: { HAPROXY_GROUP: 'external' },
        portDefinitions: [{ port: 10003, name: 'dns', protocol: 'udp' }],
      },
    },
    {
      backend: 'http',
      autoHealthy: true,
      app: {
        id: '/demo/api',
        instances: 2,
        cpus: 0.1,
        mem: 64,
        labels: { HAPROXY_GROUP: 'external' },
        networks: [{ mode: 'container/bridge' }],
        container: {
          type: 'DOCKER',
          docker: { image: 'nginx:1.21' },
          portMappings: [{ containerPort: 80, hostPort: 0, servicePort: 10004, name: 'http', protocol: 'tcp' }],
        },
        healthChecks: [{ protocol: 'MESOS_HTTP', path: '/', portIndex: 0, gracePeriodSeconds: 30, intervalSeconds: 10 }],
      },
    },
    {
      backend: 'http',
      app: {
        id: '/demo/hab',
        cmd: 'hab sup run',
        instances: 3,
        cpus: 0.1,
        mem: 64,
        labels: { HABITAT_RING: 'demo', HAPROXY_GROUP: 'external', HAPROXY_0_ENABLED: 'false' },
        portDefinitions: [
          { port: 10005, name: 'hab-gossip', protocol: 'udp,tcp' },
          { port: 10006, name: 'hab-http', protocol: 'tcp' },
        ],
      },
    },
  ];
}
