// A real OAuth 2.0 authorization server for postwright's connect tests: oauth2-mock-server,
// made strict where the library is lenient.
//
// oauth2-mock-server checks a PKCE `code_verifier` only when the token request carries one
// (a wrong verifier is refused with a 400 problem), and otherwise accepts any `code`, any
// `redirect_uri` and any client. A server that lets a client leave the verifier out does not
// enforce PKCE at all, so the hooks below add what RFC 6749 and RFC 7636 require:
//
//   authorize  a `code_challenge` with method S256 is required (else the redirect carries
//              error=invalid_request); the code is remembered with its challenge, client and
//              redirect_uri. `auto=deny` answers error=access_denied (a declined consent).
//   token      HTTP Basic client authentication with the configured client (401
//              invalid_client); the code must be known, unexpired and unused (single use: a
//              second exchange is invalid_grant); the redirect_uri must match; the
//              code_verifier is required and must hash (S256) to the challenge, checked here
//              too, not only by the library; refresh tokens are single use (rotation).
//
// Usage: node run-oauth.mjs --host 127.0.0.1 --port 0 --client-id ID --client-secret SECRET
//        [--exit-on-stdin-close]
// Prints one JSON line {"url": ...} once it listens.

import { createHash, timingSafeEqual } from "node:crypto";
import { parseArgs } from "node:util";
import { OAuth2Server } from "oauth2-mock-server";

const { values: args } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "0" },
    "client-id": { type: "string" },
    "client-secret": { type: "string" },
    "code-ttl": { type: "string", default: "60" },
    "exit-on-stdin-close": { type: "boolean", default: false },
  },
});
const clientId = args["client-id"];
const clientSecret = args["client-secret"];
if (!clientId || !clientSecret) {
  console.error("--client-id and --client-secret are required");
  process.exit(2);
}
const codeTtlMs = Number(args["code-ttl"]) * 1000;

const grants = new Map(); // code -> {challenge, redirectUri, clientId, expiresAt, used}
const refreshTokens = new Map(); // refresh token -> {used}

const s256 = (verifier) => createHash("sha256").update(verifier, "ascii").digest("base64url");
const same = (a, b) => {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
};
const first = (value) => (Array.isArray(value) ? value[0] : value);

function basicClient(req) {
  const header = req.headers.authorization ?? "";
  const [scheme, value] = header.split(" ");
  if (!value || scheme.toLowerCase() !== "basic") return null;
  const decoded = Buffer.from(value, "base64").toString("utf8");
  const at = decoded.indexOf(":");
  if (at < 0) return null;
  return {
    id: decodeURIComponent(decoded.slice(0, at).replace(/\+/g, " ")),
    secret: decodeURIComponent(decoded.slice(at + 1).replace(/\+/g, " ")),
  };
}

function refuse(response, status, error, description) {
  response.statusCode = status;
  for (const key of Object.keys(response.body)) delete response.body[key];
  Object.assign(response.body, { error, error_description: description });
}

const server = new OAuth2Server();
await server.issuer.keys.generate("RS256");

server.service.on("beforeAuthorizeRedirect", (redirect, req) => {
  const query = req.query ?? {};
  const url = redirect.url;
  const code = url.searchParams.get("code");
  const deny = first(query.auto) === "deny";
  const challenge = first(query.code_challenge);
  const method = first(query.code_challenge_method);
  const fail = (error, description) => {
    url.searchParams.delete("code");
    url.searchParams.set("error", error);
    url.searchParams.set("error_description", description);
  };
  if (deny) return fail("access_denied", "The resource owner denied the request");
  if (first(query.client_id) !== clientId) return fail("unauthorized_client", "unknown client_id");
  if (!challenge || method !== "S256") {
    return fail("invalid_request", "code_challenge with code_challenge_method=S256 is required");
  }
  grants.set(code, {
    challenge,
    redirectUri: first(query.redirect_uri),
    clientId: first(query.client_id),
    expiresAt: Date.now() + codeTtlMs,
    used: false,
  });
});

server.service.on("beforeResponse", (response, req) => {
  const body = req.body ?? {};
  const client = basicClient(req);
  if (!client || client.id !== clientId || !same(client.secret, clientSecret)) {
    return refuse(response, 401, "invalid_client", "client authentication failed");
  }
  if (body.grant_type === "authorization_code") {
    const grant = grants.get(body.code);
    if (!grant) return refuse(response, 400, "invalid_grant", "unknown authorization code");
    if (grant.used) return refuse(response, 400, "invalid_grant", "authorization code already used");
    grant.used = true;
    if (Date.now() > grant.expiresAt) {
      return refuse(response, 400, "invalid_grant", "authorization code expired");
    }
    if (grant.clientId !== client.id) {
      return refuse(response, 400, "invalid_grant", "code issued to another client");
    }
    if (body.redirect_uri !== grant.redirectUri) {
      return refuse(response, 400, "invalid_grant", "redirect_uri does not match");
    }
    if (!body.code_verifier) return refuse(response, 400, "invalid_grant", "code_verifier required");
    if (!same(s256(body.code_verifier), grant.challenge)) {
      return refuse(response, 400, "invalid_grant", "code_verifier does not match code_challenge");
    }
  } else if (body.grant_type === "refresh_token") {
    const known = refreshTokens.get(body.refresh_token);
    if (!known || known.used) return refuse(response, 400, "invalid_grant", "invalid refresh token");
    known.used = true;
  } else {
    return refuse(response, 400, "unsupported_grant_type", "unsupported grant_type");
  }
  if (response.body.refresh_token) refreshTokens.set(response.body.refresh_token, { used: false });
});

await server.start(Number(args.port), args.host);
const { port } = server.address();
console.log(JSON.stringify({ url: `http://${args.host}:${port}` }));

const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
if (args["exit-on-stdin-close"]) {
  process.stdin.on("end", stop);
  process.stdin.on("close", stop);
  process.stdin.resume();
}
