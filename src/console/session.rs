//! Signing in to the console: the `master` realm's login page and SSO
//! session. After sign-in the browser holds the session's token a second
//! time in a cookie scoped to `/admin/console/` (the SSO cookie is scoped to
//! `/realms/master/`); every console request checks that session is still
//! live, so signing out anywhere in `master` ends console access too.

use std::sync::Arc;

use actix_web::cookie::Cookie;
use actix_web::cookie::time::Duration;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

use super::{BASE, ConsoleError, Form};
use crate::admin::{Admin, console_admin};
use crate::crypto::constant_time_eq;
use crate::services::realm_cache::RealmEntry;
use crate::services::realms::MASTER_REALM;
use crate::services::sessions;
use crate::state::AppState;
use crate::web::authorize::{login_page, page_realm};
use crate::web::cookies;
use crate::web::flow::Continuation;
use crate::web::pages::PageError;
use crate::web::reply::add_cookies;

/// What the login page says it signs in to.
pub const CONSOLE_TITLE: &str = "the admin console";
const COOKIE: &str = "RG_CONSOLE";
/// What a console session's CSRF token is derived for. The token is a MAC
/// of the session's id, so no cookie can plant one (a double-submit cookie
/// could be set by a sibling site) and a new sign-in brings a new one.
const CSRF_PURPOSE: &[u8] = b"realmgate/console-csrf/v1";

fn console_cookie(name: &'static str, value: String, scope: &cookies::Scope<'_>) -> Cookie<'static> {
    cookies::build_at(name, value, &format!("{BASE}/"), scope)
}

fn cleared(mut cookie: Cookie<'static>) -> Cookie<'static> {
    cookie.set_max_age(Duration::ZERO);
    cookie
}

/// 303 to the `master` realm's console sign-in, below `prefix` (the
/// public URL's path).
pub fn to_sign_in(prefix: &str) -> HttpResponse {
    super::see_other(&format!("{prefix}/realms/{MASTER_REALM}{}", crate::oidc::paths::CONSOLE_LOGIN))
}

/// 303 into the console with the session's token (after sign-in).
pub fn enter(state: &AppState, session_token: String, mut set: Vec<Cookie<'static>>) -> HttpResponse {
    set.push(console_cookie(COOKIE, session_token, &cookies::Scope::of(state)));
    let mut builder = HttpResponse::SeeOther();
    let home = format!("{}/", super::console_base(state));
    builder.insert_header((header::LOCATION, home)).insert_header((header::CACHE_CONTROL, "no-store"));
    add_cookies(&mut builder, set);
    builder.finish()
}

/// `GET /realms/master/login-actions/console`: into the console with the
/// live SSO session, or the login page first.
pub async fn console_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    if realm.as_str() != MASTER_REALM {
        return Err(PageError::not_found());
    }
    let entry = page_realm(&state, &realm).await?;
    let token = cookies::read(&req, cookies::SESSION);
    if let Some(token) = token.clone()
        && sessions::find(&state, &entry, Some(token.clone())).await?.is_some()
    {
        return Ok(enter(&state, token, Vec::new()));
    }
    Ok(login_page(&req, &state, &entry, CONSOLE_TITLE, &Continuation::Console, "", None, StatusCode::OK))
}

/// A signed-in console request: who, with which rights, and its CSRF token.
pub struct Ctx {
    /// The console's path as the browser sees it (see `console_base`).
    pub base: String,
    pub admin: Admin,
    pub username: String,
    pub csrf: String,
    session_id: String,
    master: Arc<RealmEntry>,
    pub ip: Option<String>,
}

/// The console's signed-in administrator, or a redirect to sign in.
pub async fn signed_in(req: &HttpRequest, state: &AppState) -> Result<Ctx, ConsoleError> {
    let sign_in = || ConsoleError::SignIn(cookies::Scope::of(state).path(""));
    let master = state.cache.get(MASTER_REALM).await?.ok_or_else(sign_in)?;
    let live = sessions::find(state, &master, cookies::read(req, COOKIE)).await?.ok_or_else(sign_in)?;
    let admin = console_admin(state, &master, &live.user.user.id).await?.ok_or(ConsoleError::NotAdmin)?;
    Ok(Ctx {
        base: super::console_base(state),
        admin,
        username: live.user.user.username.clone(),
        csrf: state.secret.purpose_mac(CSRF_PURPOSE, live.session.id.as_bytes()),
        session_id: live.session.id,
        master,
        ip: state.client_ip(req),
    })
}

/// A signed-in form submission: the CSRF token must be this session's.
pub async fn submitted(
    req: &HttpRequest,
    state: &AppState,
    payload: web::Payload,
) -> Result<(Ctx, Form), ConsoleError> {
    submitted_up_to(req, state, payload, crate::oidc::params::MAX_BODY_BYTES).await
}

/// `submitted`, for a form whose body may be up to `limit` bytes.
pub async fn submitted_up_to(
    req: &HttpRequest,
    state: &AppState,
    payload: web::Payload,
    limit: usize,
) -> Result<(Ctx, Form), ConsoleError> {
    let ctx = signed_in(req, state).await?;
    let form = Form::read_up_to(payload, limit).await?;
    if !constant_time_eq(ctx.csrf.as_bytes(), form.get("csrf").as_bytes()) {
        return Err(ConsoleError::Expired);
    }
    Ok((ctx, form))
}

/// `POST /admin/console/sign-out`: ends the `master` SSO session.
pub async fn sign_out(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    let (ctx, _) = submitted(&req, &state, payload).await?;
    let (master, id, now) = (Arc::clone(&ctx.master), ctx.session_id.clone(), state.clock.now());
    state.db.write(move |conn| sessions::end(conn, &master, &id, now)).await?;
    let scope = cookies::Scope::of(&state);
    let mut builder = HttpResponse::SeeOther();
    builder
        .insert_header((header::LOCATION, format!("{}/", ctx.base)))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    add_cookies(
        &mut builder,
        vec![cleared(console_cookie(COOKIE, String::new(), &scope)), cookies::clear_session(MASTER_REALM, &scope)],
    );
    Ok(builder.finish())
}
