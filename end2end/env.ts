// Ports and the login token the e2e servers use (playwright.config.ts starts them; the specs reach them).
export const port = Number(process.env.E2E_PORT ?? 3939);
export const loginPort = Number(process.env.LOGIN_PORT ?? 3941);
export const podPort = Number(process.env.POD_PORT ?? 3942);
export const proxyPorts = {
  root: Number(process.env.PROXY_ROOT_PORT ?? 8443),
  forward: Number(process.env.PROXY_FWD_PORT ?? 8444),
  strip: Number(process.env.PROXY_STRIP_PORT ?? 8445),
};
export const loginToken = 'e2e-secret-token-123';
