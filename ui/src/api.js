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
