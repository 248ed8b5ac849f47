// The REST API, called with the session cookie.
//
// Unsafe methods send the session's CSRF token (from the page's meta tag) in X-CSRF-Token.
// Errors come back as RFC 9457 problems; they are thrown as ApiError with `detail` and the
// per-field `errors` ([{field, rule, message}]) so forms can show each one next to its field.

const BASE = '/api/v1'
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

export class ApiError extends Error {
  constructor (status, detail, errors = []) {
    super(detail)
    this.status = status
    this.detail = detail
    this.errors = errors
  }
}

function csrfToken () {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? ''
}

function loginAgain () {
  const here = location.pathname + location.search
  location.assign('/login?next=' + encodeURIComponent(here))
}

/** Call the API; `body` is sent as JSON unless it is FormData. Returns the parsed JSON or null. */
export async function api (path, { method = 'GET', body, query, signal } = {}) {
  const url = new URL(BASE + path, location.origin)
  for (const [name, value] of Object.entries(query ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined && one !== null && one !== '') url.searchParams.append(name, one)
    }
  }
  const headers = { Accept: 'application/json' }
  if (!SAFE.has(method)) headers['X-CSRF-Token'] = csrfToken()
  let payload
  if (body instanceof FormData) {
    payload = body
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json'
    payload = JSON.stringify(body)
  }
  let response
  try {
    response = await fetch(url, { method, headers, body: payload, signal, credentials: 'same-origin' })
  } catch (error) {
    if (error.name === 'AbortError') throw error
    throw new ApiError(0, 'postwright cannot be reached; check your connection and try again')
  }
  if (response.status === 401) {
    loginAgain()
    throw new ApiError(401, 'your session has ended; log in again')
  }
  if (response.status === 204) return null
  const type = response.headers.get('content-type') ?? ''
  const data = type.includes('json') ? await response.json() : null
  if (!response.ok) {
    const detail = data?.detail ?? `the server answered ${response.status}`
    throw new ApiError(response.status, detail, data?.errors ?? [])
  }
  return data
}

/** Every page of a paged list (`{data, count}`), up to `max` items. */
export async function apiAll (path, { query = {}, max = 1000 } = {}) {
  const found = []
  for (let offset = 0; offset < max; offset += 200) {
    const page = await api(path, { query: { ...query, limit: 200, offset } })
    found.push(...page.data)
    if (found.length >= page.count || page.data.length === 0) break
  }
  return found
}

/** The boot data the server rendered into the page: user, role, workspace, permissions. */
export const boot = JSON.parse(document.getElementById('pw-boot')?.textContent ?? '{}')
