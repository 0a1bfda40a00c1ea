// The builder's client for the worker's /v1 API; the bearer token (if any) is kept in localStorage.
export function token() {
  return localStorage.getItem("switchyard.token") || "";
}

export function setToken(value) {
  localStorage.setItem("switchyard.token", value);
}

export async function call(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  return { status: response.status, ok: response.ok, data };
}

const RETRY_DELAYS_MS = [1000, 3000];

// For reads the page can live without for a moment: a network failure or a 5xx from a busy or still-starting
// worker is retried after each delay; the last answer (or { ok: false, status: 0 }) is returned, never thrown.
export async function callRetrying(method, path, body, delaysMs = RETRY_DELAYS_MS) {
  for (let attempt = 0; ; attempt += 1) {
    const r = await call(method, path, body).catch(() => ({ status: 0, ok: false, data: {} }));
    if (r.ok || (r.status >= 400 && r.status < 500) || attempt >= delaysMs.length) return r;
    await new Promise((done) => setTimeout(done, delaysMs[attempt]));
  }
}
