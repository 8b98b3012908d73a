#!/usr/bin/env python3
"""realmgate's admin API (SPEC §6) driven by unmodified python-keycloak (requirements.txt).

Run by tests/api/admin_clients.rs against a fresh server. Where Keycloak and realmgate's SPEC
differ, the checks follow the SPEC (marked "realmgate:" below).

Env: KC_URL (default http://127.0.0.1:8080), KC_ADMIN_USER (admin), KC_ADMIN_PASSWORD (admin),
     KC_REALM (default issue6-py-<random>), KC_BULK_USERS (default 120), KC_KEEP_REALM=1 to skip cleanup,
     KC_DEBUG=1 for tracebacks.
Prints PASS/FAIL per step; exits 1 if any step failed.
"""
from __future__ import annotations

import base64
import json
import os
import sys
import traceback
import uuid

from keycloak import KeycloakAdmin, KeycloakOpenID
from keycloak.exceptions import (
    KeycloakAuthenticationError,
    KeycloakError,
    KeycloakGetError,
    KeycloakPostError,
)

KC_URL = os.environ.get("KC_URL", "http://127.0.0.1:8080").rstrip("/") + "/"
ADMIN_USER = os.environ.get("KC_ADMIN_USER", "admin")
ADMIN_PASS = os.environ.get("KC_ADMIN_PASSWORD", "admin")
REALM = os.environ.get("KC_REALM") or "issue6-py-" + uuid.uuid4().hex[:8]
N_BULK = int(os.environ.get("KC_BULK_USERS", "120"))
PASSWORD = "Passw0rd!issue6"

S: dict = {}  # state shared between steps
results: list[tuple[str, bool]] = []


def step(name):
    def deco(fn):
        try:
            fn()
            print(f"PASS {name}", flush=True)
            results.append((name, True))
        except Exception as e:  # noqa: BLE001
            detail = f"{type(e).__name__}: {e}"
            if isinstance(e, KeycloakError):
                detail += f" (status={e.response_code}, body={e.response_body!r})"
            print(f"FAIL {name}: {detail}", flush=True)
            if os.environ.get("KC_DEBUG"):
                traceback.print_exc()
            results.append((name, False))
        return fn
    return deco


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def need(*keys):
    missing = [k for k in keys if k not in S]
    if missing:
        raise AssertionError(f"prerequisite missing: {missing}")
    return [S[k] for k in keys]


def jwt_payload(tok: str) -> dict:
    part = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


print(f"# python-keycloak scenario against {KC_URL} realm={REALM}")


@step("admin token via KeycloakAdmin(realm_name=master, client_id=admin-cli) + get_realms")
def _():
    adm = KeycloakAdmin(server_url=KC_URL, username=ADMIN_USER, password=ADMIN_PASS,
                        realm_name="master", client_id="admin-cli")
    realms = adm.get_realms()  # first call triggers the password grant lazily
    check(any(r.get("realm") == "master" for r in realms), "master not in get_realms()")
    check(adm.connection.token and "access_token" in adm.connection.token, "no access_token kept")
    S["adm"] = adm


@step("get_server_info")
def _():
    (adm,) = need("adm")
    info = adm.get_server_info()
    check(isinstance(info, dict) and info, "serverinfo not a non-empty object")


@step("create_realm + get_realm")
def _():
    (adm,) = need("adm")
    res = adm.create_realm({"realm": REALM, "enabled": True, "displayName": "Issue 6",
                            "accessTokenLifespan": 600})
    check(isinstance(res, bytes), "create_realm must get a 201 with a non-JSON (empty) body")
    rep = adm.get_realm(REALM)
    check(rep["realm"] == REALM and rep.get("id"), f"bad realm rep {rep}")
    check(rep.get("accessTokenLifespan") == 600, "accessTokenLifespan not stored")
    check(rep.get("enabled") is True, "enabled not true")


@step("create_realm(skip_exists=True) on existing realm is tolerated")
def _():
    (adm,) = need("adm")
    adm.create_realm({"realm": REALM, "enabled": True}, skip_exists=True)


@step("update_realm (enable events/admin events) + get_realms lists realm")
def _():
    (adm,) = need("adm")
    adm.update_realm(REALM, {"displayName": "Issue 6 updated", "eventsEnabled": True,
                             "adminEventsEnabled": True, "adminEventsDetailsEnabled": True})
    rep = adm.get_realm(REALM)
    check(rep.get("displayName") == "Issue 6 updated", "displayName not updated")
    check(rep.get("accessTokenLifespan") == 600, "partial update clobbered accessTokenLifespan")
    check(any(r["realm"] == REALM for r in adm.get_realms()), "realm not listed")
    # admin of the new realm: token still from master (user_realm_name), URLs use realm_name
    S["ra"] = KeycloakAdmin(server_url=KC_URL, username=ADMIN_USER, password=ADMIN_PASS,
                            realm_name=REALM, user_realm_name="master", client_id="admin-cli")


@step("create confidential client (id from Location) + get_client_id + get_client")
def _():
    (ra,) = need("ra")
    cid = ra.create_client({"clientId": "conf-app", "enabled": True, "protocol": "openid-connect",
                            "publicClient": False, "clientAuthenticatorType": "client-secret",
                            "directAccessGrantsEnabled": True, "serviceAccountsEnabled": True,
                            "standardFlowEnabled": True, "redirectUris": ["http://localhost:3000/*"]})
    check(cid and "/" not in cid, f"bad id {cid!r}")
    check(ra.get_client_id("conf-app") == cid, "get_client_id(clientId) mismatch")
    rep = ra.get_client(cid)
    check(rep["clientId"] == "conf-app" and rep["id"] == cid, "get_client mismatch")
    check(rep.get("publicClient") is False, "publicClient should be false")
    S["cid"] = cid


@step("create public client")
def _():
    (ra,) = need("ra")
    pid = ra.create_client({"clientId": "public-app", "enabled": True, "publicClient": True,
                            "directAccessGrantsEnabled": True,
                            "redirectUris": ["http://localhost:3000/*"], "webOrigins": ["+"]})
    check(ra.get_client(pid).get("publicClient") is True, "publicClient not true")
    check(ra.get_client_id("does-not-exist") is None, "unknown clientId must give []")
    S["pid"] = pid


@step("update_client (GET-modify-PUT full representation)")
def _():
    ra, cid = need("ra", "cid")
    rep = ra.get_client(cid)
    rep["description"] = "confidential app"
    rep["redirectUris"] = ["http://localhost:3000/*", "http://127.0.0.1:3000/*"]
    ra.update_client(cid, rep)
    rep2 = ra.get_client(cid)
    check(rep2.get("description") == "confidential app", "description not updated")
    check(len(rep2.get("redirectUris", [])) == 2, "redirectUris not updated")


@step("get_client_secrets + generate_client_secrets")
def _():
    ra, cid = need("ra", "cid")
    old = ra.get_client_secrets(cid)
    check(old.get("type") == "secret" and old.get("value"), f"bad secret rep {old}")
    new = ra.generate_client_secrets(cid)
    check(new.get("type") == "secret" and new.get("value") and new["value"] != old["value"],
          "secret not regenerated")
    check(ra.get_client_secrets(cid)["value"] == new["value"], "GET does not return new secret")
    S["secret"] = new["value"]


@step("get_client_service_account_user")
def _():
    ra, cid = need("ra", "cid")
    u = ra.get_client_service_account_user(cid)
    check(u.get("username") == "service-account-conf-app" and u.get("id"), f"bad SA user {u}")


@step("get_client_scopes + create_client_scope + add_client_default_client_scope")
def _():
    ra, cid = need("ra", "cid")
    scopes = ra.get_client_scopes()
    check(isinstance(scopes, list) and any(s.get("name") == "profile" for s in scopes),
          "built-in 'profile' scope missing")
    sid = ra.create_client_scope({"name": "issue6-scope", "protocol": "openid-connect",
                                  "attributes": {"include.in.token.scope": "true"}})
    check(ra.create_client_scope({"name": "issue6-scope"}, skip_exists=True) == sid,
          "skip_exists lookup by name failed")
    ra.add_client_default_client_scope(cid, sid, {"realm": REALM, "client": cid, "clientScopeId": sid})
    names = [s.get("name") for s in ra.get_client_default_client_scopes(cid)]
    check("issue6-scope" in names, f"scope not in client defaults {names}")
    S["sid"] = sid


@step("add_default_default_client_scope (realm-level)")
def _():
    ra, sid = need("ra", "sid")
    ra.add_default_default_client_scope(sid)
    ids = [s.get("id") for s in ra.get_default_default_client_scopes()]
    check(sid in ids, "scope not in realm default-default-client-scopes")


@step("create_user (id from Location) + exist_ok + get_user_id + get_user")
def _():
    (ra,) = need("ra")
    uid = ra.create_user({"username": "alice", "email": "alice@example.com", "firstName": "Alice",
                          "lastName": "Liddell", "enabled": True, "emailVerified": True})
    check(ra.create_user({"username": "alice"}, exist_ok=True) == uid, "exist_ok did not find user")
    check(ra.get_user_id("Alice") == uid, "get_user_id (lowercased, exact=True, max=1) failed")
    u = ra.get_user(uid)
    check(u["username"] == "alice" and u["email"] == "alice@example.com", f"bad user {u}")
    ra.create_user({"username": "alice2", "enabled": True})
    S["uid"] = uid


@step("duplicate create_user -> 409")
def _():
    (ra,) = need("ra")
    try:
        ra.create_user({"username": "alice", "enabled": True})
    except KeycloakPostError as e:
        check(e.response_code == 409, f"expected 409, got {e.response_code}")
        return
    raise AssertionError("duplicate user accepted")


@step("get_users exact vs substring vs search")
def _():
    (ra,) = need("ra")
    exact = ra.get_users({"username": "alice", "exact": True})  # sent as exact=True
    check([u["username"] for u in exact] == ["alice"], f"exact search returned {exact}")
    sub = sorted(u["username"] for u in ra.get_users({"username": "alice"}))
    check(sub == ["alice", "alice2"], f"substring search returned {sub}")
    srch = {u["username"] for u in ra.get_users({"search": "alice"})}
    check({"alice", "alice2"} <= srch, f"search= returned {srch}")


@step("update_user (GET-modify-PUT)")
def _():
    ra, uid = need("ra", "uid")
    rep = ra.get_user(uid)
    rep["firstName"] = "Alicia"
    rep.setdefault("attributes", {})["team"] = ["blue"]
    ra.update_user(uid, rep)
    u = ra.get_user(uid)
    check(u.get("firstName") == "Alicia" and u.get("email") == "alice@example.com", f"bad {u}")


@step(f"bulk create {N_BULK} users + get_users paging past 100 + users_count")
def _():
    (ra,) = need("ra")
    for i in range(N_BULK):
        ra.create_user({"username": f"bulk-{i:04d}", "enabled": True})
    all_users = ra.get_users({})  # python-keycloak loops max=100&first=0,100,200...
    bulk = [u for u in all_users if u["username"].startswith("bulk-")]
    check(len(bulk) == N_BULK, f"fetch_all saw {len(bulk)} bulk users, want {N_BULK}")
    check(len({u["id"] for u in all_users}) == len(all_users), "duplicate users across pages")
    total = ra.users_count()
    check(total == len(all_users), f"users_count {total} != listed {len(all_users)}")
    page2 = ra.get_users({"first": 100, "max": 100})
    want = max(0, min(100, total - 100))
    check(len(page2) == want, f"page first=100&max=100 has {len(page2)}, want {want}")
    check(ra.users_count({"username": "bulk-"}) == N_BULK, "users_count(username=bulk-) wrong")


@step("set_user_password (temporary=False)")
def _():
    ra, uid = need("ra", "uid")
    ra.set_user_password(uid, PASSWORD, temporary=False)


@step("create_realm_role + get_realm_role + get_realm_roles")
def _():
    (ra,) = need("ra")
    name = ra.create_realm_role({"name": "app-user", "description": "issue6 role"})
    check(name == "app-user", f"create_realm_role returned {name!r} (Location last segment)")
    check(ra.create_realm_role({"name": "app-user"}, skip_exists=True) == "app-user", "skip_exists")
    ra.create_realm_role({"name": "app-admin"})
    role = ra.get_realm_role("app-user")
    check(role.get("id") and role["name"] == "app-user", f"bad role {role}")
    names = {r["name"] for r in ra.get_realm_roles()}
    check({"app-user", "app-admin"} <= names, f"roles missing: {names}")
    S["role"] = role


@step("assign_realm_roles + get_realm_roles_of_user")
def _():
    ra, uid, role = need("ra", "uid", "role")
    ra.assign_realm_roles(uid, [{"id": role["id"], "name": role["name"]}])
    names = {r["name"] for r in ra.get_realm_roles_of_user(uid)}
    check("app-user" in names, f"role not mapped: {names}")


@step("realm-management client roles: get_client_roles + assign_client_role")
def _():
    ra, uid = need("ra", "uid")
    rm = ra.get_client_id("realm-management")
    check(rm, "realm-management client missing")
    names = {r["name"] for r in ra.get_client_roles(rm)}
    check({"view-users", "manage-users"} <= names, f"realm-management roles: {names}")
    role = ra.get_client_role(rm, "view-users")
    ra.assign_client_role(uid, rm, [role])
    got = {r["name"] for r in ra.get_client_roles_of_user(uid, rm)}
    check("view-users" in got, f"client role not mapped: {got}")


@step("get_keys (KeysMetadataRepresentation)")
def _():
    (ra,) = need("ra")
    keys = ra.get_keys()
    kid = keys.get("active", {}).get("RS256")
    check(kid, f"no active RS256 in {keys.get('active')}")
    k = next((k for k in keys.get("keys", []) if k.get("kid") == kid), None)
    check(k and k.get("publicKey") and k.get("status") == "ACTIVE" and k.get("type") == "RSA",
          f"bad key entry {k}")
    S["kid"] = kid


@step("user password grant with confidential client (KeycloakOpenID, client_secret in body)")
def _():
    secret, kid = need("secret", "kid")
    oidc = KeycloakOpenID(server_url=KC_URL, realm_name=REALM, client_id="conf-app",
                          client_secret_key=secret)
    tok = oidc.token("alice", PASSWORD)  # scope=openid, code=&redirect_uri= sent empty
    for f in ("access_token", "refresh_token", "expires_in", "token_type"):
        check(f in tok, f"token response lacks {f}")
    p = jwt_payload(tok["access_token"])
    # realmgate: access tokens follow RFC 9068 and name the client in `client_id` (no `azp`).
    check(p.get("preferred_username") == "alice" and p.get("client_id") == "conf-app", f"claims {p}")
    check(p.get("iss", "").endswith(f"/realms/{REALM}"), f"iss {p.get('iss')}")
    hdr = json.loads(base64.urlsafe_b64decode(tok["access_token"].split(".")[0] + "=="))
    check(hdr.get("kid") == kid, "token kid != active RS256 kid from /keys")
    check(any(k.get("kid") == kid for k in oidc.certs()["keys"]), "kid not in JWKS")
    S["tok"], S["oidc"] = tok, oidc


# realmgate: a realm role governs which scopes its holders may get (SPEC §2); tokens carry no
# `realm_access`. The mapping is checked through the admin API instead.
@step("realm role app-user: get_all_roles_of_user + get_realm_role_members")
def _():
    ra, uid = need("ra", "uid")
    mapped = {r["name"] for r in ra.get_all_roles_of_user(uid).get("realmMappings", [])}
    check("app-user" in mapped, f"realmMappings={mapped}")
    members = {u["username"] for u in ra.get_realm_role_members("app-user")}
    check(members == {"alice"}, f"members of app-user: {members}")


@step("password grant with public client; wrong password -> 400 (RFC 6749 §5.2)")
def _():
    pub = KeycloakOpenID(server_url=KC_URL, realm_name=REALM, client_id="public-app")
    check("access_token" in pub.token("alice", PASSWORD), "public client token failed")
    # realmgate: 400 invalid_grant (RFC 6749 §5.2, SPEC §5), not Keycloak's 401. python-keycloak
    # raises KeycloakAuthenticationError only for a 401; a 400 is a KeycloakPostError.
    try:
        pub.token("alice", "wrong-password")
    except KeycloakAuthenticationError as e:
        raise AssertionError(f"wrong password answered 401, want 400 (body {e.response_body!r})") from e
    except KeycloakPostError as e:
        check(e.response_code == 400, f"status {e.response_code}")
        check(json.loads(e.response_body).get("error") == "invalid_grant", f"body {e.response_body!r}")
        return
    raise AssertionError("wrong password accepted")


@step("get_sessions (user sessions) + user_logout")
def _():
    ra, uid, tok, oidc = need("ra", "uid", "tok", "oidc")
    # A password grant is listed as a session of its own, with its client, as Keycloak lists it.
    sess = ra.get_sessions(uid)
    check(isinstance(sess, list) and all(s.get("userId") == uid for s in sess), f"sessions {sess}")
    check(any("conf-app" in s.get("clients", {}).values() for s in sess), f"no conf-app session {sess}")
    ra.user_logout(uid)
    check(ra.get_sessions(uid) == [], "sessions remain after logout")
    try:
        oidc.refresh_token(tok["refresh_token"])
    except KeycloakError:
        return
    raise AssertionError("refresh token still valid after admin logout")


@step("KeycloakOpenID.logout(refresh_token), then refresh -> 'Session not active'")
def _():
    (oidc,) = need("oidc")
    tok = oidc.token("alice", PASSWORD)
    oidc.logout(tok["refresh_token"])  # raises unless 204
    try:
        oidc.refresh_token(tok["refresh_token"])
    except KeycloakPostError as e:
        body = json.loads(e.response_body)
        check(e.response_code == 400 and body.get("error") == "invalid_grant", f"{e.response_code} {body}")
        check(body.get("error_description") == "Session not active", f"body {body}")
        return
    raise AssertionError("refresh token still valid after logout")


@step("get_events (LOGIN) + get_admin_events")
def _():
    ra, uid = need("ra", "uid")
    ev = ra.get_events({"type": "LOGIN", "max": 50})
    check(any(e.get("userId") == uid and e.get("type") == "LOGIN" for e in ev), f"events {ev[:3]}")
    aev = ra.get_admin_events({"max": 500})
    check(any(a.get("operationType") == "CREATE" and a.get("resourceType") == "USER"
              and "authDetails" in a for a in aev), f"admin events {aev[:3]}")


@step("delete_realm + get_realm -> 404")
def _():
    (adm,) = need("adm")
    if os.environ.get("KC_KEEP_REALM") == "1":
        return
    adm.delete_realm(REALM)
    try:
        adm.get_realm(REALM)
    except KeycloakGetError as e:
        check(e.response_code == 404, f"status {e.response_code}")
        return
    raise AssertionError("realm still exists")


failed = [n for n, ok in results if not ok]
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
