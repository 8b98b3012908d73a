// realmgate's admin API (SPEC §6) driven by unmodified @keycloak/keycloak-admin-client
// (package.json here; ESM-only, Node >= 18). Run by tests/api/admin_clients.rs against a fresh
// server. Where Keycloak and realmgate's SPEC differ, the checks follow the SPEC ("realmgate:").
// Env: KC_URL (default http://127.0.0.1:8080), KC_ADMIN_USER (admin), KC_ADMIN_PASSWORD (admin),
//      KC_REALM (default issue6-npm-<random>), KC_BULK_USERS (120), KC_KEEP_REALM=1 to skip cleanup,
//      KC_ADMIN_CLIENT_PATH: path to the package's lib/index.js if not resolvable from here.
// Run: npm ci && node npm_scenario.mjs   (prints PASS/FAIL per step, exits 1 on any failure)
import { randomUUID } from "node:crypto";

async function loadClient() {
  const candidates = [
    process.env.KC_ADMIN_CLIENT_PATH,
    "@keycloak/keycloak-admin-client",
  ].filter(Boolean);
  for (const c of candidates) {
    try {
      return (await import(c)).default;
    } catch {
      /* try next */
    }
  }
  throw new Error("cannot import @keycloak/keycloak-admin-client; set KC_ADMIN_CLIENT_PATH");
}
const KcAdminClient = await loadClient();

const KC_URL = (process.env.KC_URL || "http://127.0.0.1:8080").replace(/\/+$/, "");
const ADMIN_USER = process.env.KC_ADMIN_USER || "admin";
const ADMIN_PASS = process.env.KC_ADMIN_PASSWORD || "admin";
const REALM = process.env.KC_REALM || `issue6-npm-${randomUUID().slice(0, 8)}`;
const N_BULK = Number(process.env.KC_BULK_USERS || 120);
const PASSWORD = "Passw0rd!issue6";

const S = {};
const results = [];
function check(cond, msg) {
  if (!cond) throw new Error(msg);
}
function need(...keys) {
  const missing = keys.filter((k) => !(k in S));
  if (missing.length) throw new Error(`prerequisite missing: ${missing.join(",")}`);
  return keys.map((k) => S[k]);
}
async function step(name, fn) {
  try {
    await fn();
    console.log(`PASS ${name}`);
    results.push([name, true]);
  } catch (e) {
    const st = e?.response?.status ? ` (status=${e.response.status}, body=${JSON.stringify(e.responseData)})` : "";
    console.log(`FAIL ${name}: ${e?.message ?? e}${st}`);
    if (process.env.KC_DEBUG) console.error(e);
    results.push([name, false]);
  }
}
const jwtPart = (t, i) => JSON.parse(Buffer.from(t.split(".")[i], "base64url").toString("utf8"));
async function tokenRequest(form, basic) {
  const headers = { "content-type": "application/x-www-form-urlencoded" };
  if (basic) headers.authorization = "Basic " + Buffer.from(`${basic[0]}:${basic[1]}`).toString("base64");
  const res = await fetch(`${KC_URL}/realms/${REALM}/protocol/openid-connect/token`, {
    method: "POST",
    headers,
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

console.log(`# keycloak-admin-client scenario against ${KC_URL} realm=${REALM}`);
// realmName stays "master": the token (and refreshes) come from master; every call passes {realm: REALM}.
const kc = new KcAdminClient({ baseUrl: KC_URL, realmName: "master" });
const r = { realm: REALM };

await step("auth({grantType:'password', clientId:'admin-cli'}) + realms.find", async () => {
  await kc.auth({ username: ADMIN_USER, password: ADMIN_PASS, grantType: "password", clientId: "admin-cli" });
  check(kc.accessToken, "no accessToken");
  const realms = await kc.realms.find(); // GET /admin/realms/  (note trailing slash)
  check(realms.some((x) => x.realm === "master"), "master missing");
  S.kc = kc;
});

await step("serverInfo.find", async () => {
  need("kc");
  const info = await kc.serverInfo.find();
  check(info && typeof info === "object", "serverinfo not an object");
});

await step("realms.create ({realmName} from Location) + findOne", async () => {
  need("kc");
  const res = await kc.realms.create({ realm: REALM, enabled: true, displayName: "Issue 6", accessTokenLifespan: 600 });
  check(res.realmName === REALM, `create returned ${JSON.stringify(res)}`);
  const rep = await kc.realms.findOne({ realm: REALM });
  check(rep?.realm === REALM && rep.accessTokenLifespan === 600 && rep.id, `bad rep ${JSON.stringify(rep)}`);
  S.realm = true;
});

await step("realms.update (enable events) + realms.find lists realm", async () => {
  need("realm");
  await kc.realms.update(r, { displayName: "Issue 6 updated", eventsEnabled: true, adminEventsEnabled: true, adminEventsDetailsEnabled: true });
  const rep = await kc.realms.findOne(r);
  check(rep.displayName === "Issue 6 updated" && rep.accessTokenLifespan === 600, "update not merged");
  check((await kc.realms.find()).some((x) => x.realm === REALM), "realm not listed");
});

await step("clients.create confidential ({id} from Location) + find({clientId}) + findOne", async () => {
  need("realm");
  const { id } = await kc.clients.create({
    ...r, clientId: "conf-app", enabled: true, protocol: "openid-connect", publicClient: false,
    clientAuthenticatorType: "client-secret", directAccessGrantsEnabled: true, serviceAccountsEnabled: true,
    standardFlowEnabled: true, redirectUris: ["http://localhost:3000/*"],
  });
  const found = await kc.clients.find({ ...r, clientId: "conf-app" });
  check(found.length === 1 && found[0].id === id, `find({clientId}) -> ${JSON.stringify(found)}`);
  const rep = await kc.clients.findOne({ ...r, id });
  check(rep.clientId === "conf-app" && rep.publicClient === false, "findOne mismatch");
  check((await kc.clients.findOne({ ...r, id: randomUUID() })) === null, "unknown id must 404 (-> null)");
  S.cid = id;
});

await step("clients.create public client", async () => {
  need("realm");
  const { id } = await kc.clients.create({ ...r, clientId: "public-app", publicClient: true, directAccessGrantsEnabled: true, redirectUris: ["http://localhost:3000/*"] });
  check((await kc.clients.findOne({ ...r, id })).publicClient === true, "publicClient not true");
  S.pid = id;
});

await step("clients.update (GET-modify-PUT)", async () => {
  const [cid] = need("cid");
  const rep = await kc.clients.findOne({ ...r, id: cid });
  await kc.clients.update({ ...r, id: cid }, { ...rep, description: "confidential app" });
  check((await kc.clients.findOne({ ...r, id: cid })).description === "confidential app", "not updated");
});

await step("clients.getClientSecret + generateNewClientSecret", async () => {
  const [cid] = need("cid");
  const old = await kc.clients.getClientSecret({ ...r, id: cid });
  check(old.type === "secret" && old.value, `bad secret ${JSON.stringify(old)}`);
  const neu = await kc.clients.generateNewClientSecret({ ...r, id: cid }); // POST body "{}"
  check(neu.value && neu.value !== old.value, "secret not regenerated");
  check((await kc.clients.getClientSecret({ ...r, id: cid })).value === neu.value, "GET stale");
  S.secret = neu.value;
});

await step("clients.getServiceAccountUser", async () => {
  const [cid] = need("cid");
  const u = await kc.clients.getServiceAccountUser({ ...r, id: cid });
  check(u.username === "service-account-conf-app", `bad SA user ${JSON.stringify(u)}`);
});

await step("clientScopes.find/create + clients.addDefaultClientScope + clientScopes.addDefaultClientScope", async () => {
  const [cid] = need("cid");
  const scopes = await kc.clientScopes.find(r);
  check(scopes.some((s) => s.name === "profile"), "built-in profile scope missing");
  const { id: sid } = await kc.clientScopes.create({ ...r, name: "issue6-scope-npm", protocol: "openid-connect" });
  await kc.clients.addDefaultClientScope({ ...r, id: cid, clientScopeId: sid }); // PUT body "{}"
  const defs = await kc.clients.listDefaultClientScopes({ ...r, id: cid });
  check(defs.some((s) => s.id === sid), "scope not in client defaults");
  await kc.clientScopes.addDefaultClientScope({ ...r, id: sid });
  check((await kc.clientScopes.listDefaultClientScopes(r)).some((s) => s.id === sid), "not realm default");
});

await step("users.create ({id} from Location) + findOne", async () => {
  need("realm");
  const { id } = await kc.users.create({ ...r, username: "alice", email: "alice@example.com", firstName: "Alice", lastName: "Liddell", enabled: true, emailVerified: true });
  await kc.users.create({ ...r, username: "alice2", enabled: true });
  const u = await kc.users.findOne({ ...r, id });
  check(u.username === "alice" && u.email === "alice@example.com", `bad user ${JSON.stringify(u)}`);
  S.uid = id;
});

await step("duplicate users.create -> 409 NetworkError", async () => {
  need("uid");
  try {
    await kc.users.create({ ...r, username: "alice", enabled: true });
  } catch (e) {
    check(e?.response?.status === 409, `expected 409, got ${e?.response?.status}`);
    return;
  }
  throw new Error("duplicate accepted");
});

await step("users.find exact=true vs substring vs search", async () => {
  need("uid");
  const exact = await kc.users.find({ ...r, username: "alice", exact: true }); // exact=true
  check(exact.length === 1 && exact[0].id === S.uid, `exact -> ${exact.map((u) => u.username)}`);
  const sub = (await kc.users.find({ ...r, username: "alice" })).map((u) => u.username).sort();
  check(JSON.stringify(sub) === '["alice","alice2"]', `substring -> ${sub}`);
  const srch = (await kc.users.find({ ...r, search: "alice", briefRepresentation: true })).map((u) => u.username);
  check(srch.includes("alice") && srch.includes("alice2"), `search -> ${srch}`);
});

await step("users.update (GET-modify-PUT)", async () => {
  const [uid] = need("uid");
  const rep = await kc.users.findOne({ ...r, id: uid });
  await kc.users.update({ ...r, id: uid }, { ...rep, firstName: "Alicia" });
  const u = await kc.users.findOne({ ...r, id: uid });
  check(u.firstName === "Alicia" && u.email === "alice@example.com", "update failed");
});

await step(`bulk create ${N_BULK} users + paging (first/max) past 100 + users.count`, async () => {
  need("realm");
  for (let i = 0; i < N_BULK; i++) await kc.users.create({ ...r, username: `bulk-${String(i).padStart(4, "0")}`, enabled: true });
  const total = await kc.users.count(r); // bare JSON number
  check(typeof total === "number", `count returned ${typeof total}`);
  const seen = [];
  for (let first = 0; ; first += 50) {
    const page = await kc.users.find({ ...r, first, max: 50 });
    seen.push(...page);
    if (page.length < 50) break;
  }
  check(seen.length === total, `paged ${seen.length} != count ${total}`);
  check(new Set(seen.map((u) => u.id)).size === seen.length, "duplicates across pages");
  check(seen.filter((u) => u.username.startsWith("bulk-")).length === N_BULK, "bulk users missing");
  const dflt = await kc.users.find(r); // no max -> server default max=100
  check(dflt.length === Math.min(100, total), `default page size ${dflt.length}, want ${Math.min(100, total)}`);
  check((await kc.users.count({ ...r, username: "bulk-" })) === N_BULK, "count(username=bulk-) wrong");
});

await step("users.resetPassword", async () => {
  const [uid] = need("uid");
  await kc.users.resetPassword({ ...r, id: uid, credential: { type: "password", value: PASSWORD, temporary: false } });
});

await step("roles.create ({roleName} from Location) + findOneByName + find", async () => {
  need("realm");
  const res = await kc.roles.create({ ...r, name: "app-user", description: "issue6 role" });
  check(res.roleName === "app-user", `create returned ${JSON.stringify(res)}`);
  const role = await kc.roles.findOneByName({ ...r, name: "app-user" });
  check(role?.id && role.name === "app-user", "findOneByName failed");
  check((await kc.roles.findOneByName({ ...r, name: "nope" })) === null, "unknown role must 404");
  check((await kc.roles.find(r)).some((x) => x.name === "app-user"), "roles.find missing role");
  S.role = role;
});

await step("users.addRealmRoleMappings + listRealmRoleMappings", async () => {
  const [uid, role] = need("uid", "role");
  await kc.users.addRealmRoleMappings({ ...r, id: uid, roles: [{ id: role.id, name: role.name }] });
  const m = await kc.users.listRealmRoleMappings({ ...r, id: uid });
  check(m.some((x) => x.name === "app-user"), "role not mapped");
});

await step("realm-management: clients.findRole + users.addClientRoleMappings", async () => {
  const [uid] = need("uid");
  const [rm] = await kc.clients.find({ ...r, clientId: "realm-management" });
  check(rm?.id, "realm-management client missing");
  const role = await kc.clients.findRole({ ...r, id: rm.id, roleName: "view-users" });
  check(role?.id, "view-users role missing");
  await kc.users.addClientRoleMappings({ ...r, id: uid, clientUniqueId: rm.id, roles: [{ id: role.id, name: role.name }] });
  const m = await kc.users.listClientRoleMappings({ ...r, id: uid, clientUniqueId: rm.id });
  check(m.some((x) => x.name === "view-users"), "client role not mapped");
});

await step("realms.getKeys", async () => {
  need("realm");
  const keys = await kc.realms.getKeys(r);
  const kid = keys?.active?.RS256;
  check(kid, `no active RS256: ${JSON.stringify(keys?.active)}`);
  const k = keys.keys.find((x) => x.kid === kid);
  check(k?.publicKey && k.status === "ACTIVE" && k.type === "RSA", `bad key ${JSON.stringify(k)}`);
  S.kid = kid;
});

await step("user token: password grant, confidential client (client_secret_post and client_secret_basic)", async () => {
  const [secret, kid] = need("secret", "kid");
  const post = await tokenRequest({ grant_type: "password", client_id: "conf-app", client_secret: secret, username: "alice", password: PASSWORD, scope: "openid" });
  check(post.status === 200 && post.body?.access_token, `post: ${post.status} ${JSON.stringify(post.body)}`);
  const p = jwtPart(post.body.access_token, 1);
  // realmgate: access tokens follow RFC 9068 and name the client in `client_id` (no `azp`).
  check(p.preferred_username === "alice" && p.client_id === "conf-app", `claims ${JSON.stringify(p)}`);
  check(jwtPart(post.body.access_token, 0).kid === kid, "token kid != active RS256 kid");
  // realmgate: tokens carry no `realm_access`; a realm role governs scopes. Its holders instead:
  const holders = (await kc.roles.findUsersWithRole({ ...r, name: "app-user" })).map((u) => u.username);
  check(JSON.stringify(holders) === '["alice"]', `holders of app-user: ${holders}`);
  const basic = await tokenRequest({ grant_type: "password", username: "alice", password: PASSWORD }, ["conf-app", secret]);
  check(basic.status === 200 && basic.body?.access_token, `basic: ${basic.status} ${JSON.stringify(basic.body)}`);
  const bad = await tokenRequest({ grant_type: "password", client_id: "conf-app", client_secret: "wrong", username: "alice", password: PASSWORD });
  check(bad.status === 401, `wrong client secret -> ${bad.status}`);
  S.tok = post.body;
});

// realmgate: a wrong password is 400 invalid_grant (RFC 6749 §5.2, SPEC §5), not Keycloak's 401.
await step("user token: public client; wrong password -> 400 invalid_grant", async () => {
  need("uid");
  const ok = await tokenRequest({ grant_type: "password", client_id: "public-app", username: "alice", password: PASSWORD });
  check(ok.status === 200 && ok.body?.access_token, `public: ${ok.status}`);
  const bad = await tokenRequest({ grant_type: "password", client_id: "public-app", username: "alice", password: "nope" });
  check(bad.status === 400 && bad.body?.error === "invalid_grant", `bad pw -> ${bad.status} ${JSON.stringify(bad.body)}`);
});

await step("users.listSessions + users.logout", async () => {
  const [uid, tok, secret] = need("uid", "tok", "secret");
  // realmgate: a password grant opens no SSO session (only a browser sign-in does), so the list
  // may be empty here; whatever it holds belongs to the user.
  const sess = await kc.users.listSessions({ ...r, id: uid });
  check(Array.isArray(sess) && sess.every((s) => s.userId === uid), `sessions ${JSON.stringify(sess)}`);
  await kc.users.logout({ ...r, id: uid }); // POST body "{}"
  check((await kc.users.listSessions({ ...r, id: uid })).length === 0, "sessions remain");
  const ref = await tokenRequest({ grant_type: "refresh_token", client_id: "conf-app", client_secret: secret, refresh_token: tok.refresh_token });
  check(ref.status === 400, `refresh after logout -> ${ref.status}`);
});

await step("realms.logoutAll", async () => {
  const [secret] = need("secret");
  const fresh = await tokenRequest({ grant_type: "password", username: "alice", password: PASSWORD }, ["conf-app", secret]);
  check(fresh.status === 200 && fresh.body?.refresh_token, `password grant: ${fresh.status}`);
  await kc.realms.logoutAll({ realm: r.realm });
  const ref = await tokenRequest({ grant_type: "refresh_token", client_id: "conf-app", client_secret: secret, refresh_token: fresh.body.refresh_token });
  check(ref.status === 400, `refresh after logout-all -> ${ref.status}`);
});

await step("realms.findEvents (LOGIN) + findAdminEvents", async () => {
  const [uid] = need("uid");
  const ev = await kc.realms.findEvents({ ...r, type: "LOGIN", max: 50 });
  check(ev.some((e) => e.userId === uid && e.type === "LOGIN"), `events ${JSON.stringify(ev.slice(0, 2))}`);
  const aev = await kc.realms.findAdminEvents({ ...r, max: 500 });
  check(aev.some((a) => a.operationType === "CREATE" && a.resourceType === "USER" && a.authDetails), "no CREATE USER admin event");
});

await step("realms.del + findOne -> null", async () => {
  need("realm");
  if (process.env.KC_KEEP_REALM === "1") return;
  await kc.realms.del(r); // DELETE with body "{}"
  check((await kc.realms.findOne(r)) === null, "realm still there");
});

const failed = results.filter(([, ok]) => !ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
