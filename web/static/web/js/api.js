// REST client of the reference pages: the public API under /api/v1, with the
// browser's session and the CSRF token Django sets in a cookie.

export class ApiError extends Error {
  constructor(status, detail, code) {
    super(detail);
    this.status = status;
    this.code = code;
  }
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`/api/v1/${path}`, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, "The server cannot be reached. Check the connection.", "network");
  }
  if (response.status === 204) return null;
  let payload = null;
  try {
    payload = await response.json();
  } catch (error) {
    payload = null;
  }
  if (!response.ok) {
    const detail = payload && payload.detail ? payload.detail : `The server answered ${response.status}.`;
    throw new ApiError(response.status, detail, payload && payload.code ? payload.code : "error");
  }
  return payload;
}

// The ``results`` of every page of a paginated list, or the list itself.
export async function apiList(path) {
  const items = [];
  let next = path;
  while (next) {
    const page = await api(next);
    if (Array.isArray(page)) return page;
    items.push(...page.results);
    next = page.next ? page.next.replace(/^.*\/api\/v1\//, "") : null;
  }
  return items;
}
