//! Users: search and paging, create, edit, set a password, realm roles,
//! sessions with "sign out", delete.

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::clients::urlencode;
use super::pages::{
    AdminRoleLine, Ask, Frame, RoleLine, SessionLine, UserLine, UserPage, UsersPage, confirm, send, status_of,
};
use super::session::{signed_in, submitted};
use super::{ConsoleError, Ctx, Form, Pager, Problems, audit, notice, realm_url, see_other, when};
use crate::admin::credentials::NewPassword;
use crate::admin::management_roles::management_client_id;
use crate::admin::realms::find_realm;
use crate::admin::role_mappings::{map_management_roles, map_realm_roles};
use crate::admin::users::{
    create_user, delete_user, find_user, guard_target, logout_user, may_sign_out, set_password, update_user,
};
use crate::admin::{AdminError, Need};
use crate::domain::user::{MAX_PASSWORD_BYTES, PASSWORD_TOO_LONG};
use crate::services::account;
use crate::services::realms::REALM_MANAGEMENT_ROLES;
use crate::state::AppState;
use crate::storage::json_list;
use crate::storage::repo::users::UserFilter;
use crate::storage::repo::{roles, sessions, users};

const PAGE_SIZE: usize = 20;
const USER_FIELDS: [(&str, &str); 7] = [
    ("User exists with same email", "email"),
    ("User exists", "username"),
    ("username", "username"),
    ("email", "email"),
    ("firstName", "first_name"),
    ("lastName", "last_name"),
    ("password", "password"),
];

async fn list_page(
    state: &AppState,
    ctx: &Ctx,
    realm: &str,
    query: &Form,
    form: Form,
    problems: Problems,
) -> Result<HttpResponse, ConsoleError> {
    ctx.admin.require(realm, Need::QueryUsers)?;
    let found = find_realm(state, realm).await?;
    let search = query.text("search").to_owned();
    let filter = UserFilter { search: Some(search.clone()).filter(|s| !s.is_empty()), ..UserFilter::default() };
    // The holders of one realm role (the roles page links here).
    let role = match query.text("role") {
        "" => None,
        id => {
            let (realm_id, id) = (found.id.clone(), id.to_owned());
            let role = state.db.run(move |conn| roles::find_by_id(conn, &realm_id, &id)).await?;
            Some(role.ok_or_else(|| ConsoleError::NotFound("Role".into()))?)
        }
    };
    let base = format!(
        "{}?search={}&{}",
        realm_url(&ctx.base, realm, "users"),
        urlencode(&search),
        role.as_ref().map_or(String::new(), |r| format!("role={}&", urlencode(&r.id)))
    );
    let mut pager = Pager::new(query, PAGE_SIZE, base);
    let first = pager.first as i64;
    // As the REST API's search: only users the administrator may view.
    let viewer = ctx.admin.may(realm, Need::ViewUsers);
    let role_id = role.as_ref().map(|r| r.id.clone());
    let (rows, total) = state
        .db
        .run(move |conn| match role_id {
            _ if !viewer => Ok((Vec::new(), 0)),
            Some(role_id) => Ok((
                users::list_by_role(conn, &role_id, first, Some(PAGE_SIZE as i64))?,
                users::count_by_role(conn, &role_id)?,
            )),
            None => Ok((
                users::search(conn, &found.id, &filter, first, Some(PAGE_SIZE as i64))?,
                users::count(conn, &found.id, &filter)?,
            )),
        })
        .await?;
    pager.total = usize::try_from(total).ok();
    let users: Vec<UserLine> = rows
        .into_iter()
        .map(|u| UserLine {
            name: [u.given_name.as_deref(), u.family_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
            email: u.email.unwrap_or_default(),
            id: u.id,
            username: u.username,
            enabled: u.enabled,
        })
        .collect();
    pager.shown = users.len();
    let status = status_of(&problems);
    let done = notice(Some(query.get("done")));
    let page = UsersPage {
        frame: Frame::new(ctx, Some(realm), "users", done),
        users,
        search,
        role: role.map(|r| r.name),
        pager,
        form,
        problems,
    };
    Ok(send(status, &page))
}

pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let ctx = signed_in(&req, &state).await?;
    list_page(&state, &ctx, &path, &Form::query(&req), Form::default(), Problems::none()).await
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    let (ctx, form) = submitted(&req, &state, payload).await?;
    let realm = path.as_str();
    let mut rep = json!({
        "username": form.text("username"),
        "email": form.text("email"),
        "firstName": form.text("first_name"),
        "lastName": form.text("last_name"),
        "enabled": true,
    });
    if !form.get("password").is_empty() {
        let temporary = form.checked("temporary");
        rep["credentials"] = json!([{ "type": "password", "value": form.get("password"), "temporary": temporary }]);
    }
    match create_user(&state, &ctx.admin, realm, rep.as_object().cloned().unwrap_or_default()).await {
        Ok(id) => {
            audit(&state, &ctx, realm, Method::POST, &format!("users/{id}")).await;
            Ok(see_other(&format!("{}?done=created", realm_url(&ctx.base, realm, &format!("users/{id}")))))
        }
        Err(e) => {
            let problems = Problems::from_refusal(e, &USER_FIELDS, "username")?;
            let mut kept = form;
            kept.set("password", "");
            list_page(&state, &ctx, realm, &Form::default(), kept, problems).await
        }
    }
}

async fn user_page(
    state: &AppState,
    ctx: &Ctx,
    realm: &str,
    id: &str,
    form: Option<Form>,
    problems: Problems,
    done: Option<&'static str>,
) -> Result<HttpResponse, ConsoleError> {
    ctx.admin.require(realm, Need::ViewUsers)?;
    let found = find_realm(state, realm).await?;
    let user = find_user(state, &found, id).await?;
    let now = state.clock.now();
    let (idle, max) = (found.sso_session_idle, found.sso_session_max);
    let (realm_id, user_id) = (found.id.clone(), user.id.clone());
    let (all_roles, held_ids, open) = state
        .db
        .run(move |conn| {
            Ok((
                roles::list_by_realm(conn, &realm_id)?,
                roles::list_role_ids_of_user(conn, &user_id)?,
                sessions::list_open_by_user(conn, &user_id)?,
            ))
        })
        .await?;
    // No form the admin API would refuse (master's `admin` role).
    let grantable = |r: &roles::RoleRow| ctx.admin.may_map_realm_role(realm, &r.name);
    let (held, available): (Vec<_>, Vec<_>) = all_roles.into_iter().partition(|r| held_ids.contains(&r.id));
    let available: Vec<_> = available.into_iter().filter(|r| grantable(r)).collect();
    let line = |r: roles::RoleRow| RoleLine { removable: grantable(&r), id: r.id, name: r.name };
    let admin_held = json_list(&user.admin_roles)?;
    let admin_available = REALM_MANAGEMENT_ROLES
        .iter()
        .copied()
        .filter(|r| !admin_held.iter().any(|h| h == r) && ctx.admin.may_grant(r))
        .collect();
    let form = form.unwrap_or_else(|| {
        let mut form = Form::default();
        form.set("email", user.email.clone().unwrap_or_default());
        form.set("first_name", user.given_name.clone().unwrap_or_default());
        form.set("last_name", user.family_name.clone().unwrap_or_default());
        form.tick("enabled", user.enabled);
        form.tick("email_verified", user.email_verified);
        form
    });
    // Only a user this administrator outranks can be changed: no forms that
    // could only be refused.
    let changeable = ctx.admin.may(realm, Need::ManageUsers)
        && match guard_target(state, &ctx.admin, &found, &user).await {
            Ok(()) => true,
            Err(AdminError::Forbidden) => false,
            Err(e) => return Err(e.into()),
        };
    let status = status_of(&problems);
    let page = UserPage {
        frame: Frame::new(ctx, Some(realm), "users", done),
        changeable,
        id: user.id.clone(),
        username: user.username.clone(),
        password_temporary: user.password_temporary,
        form,
        problems,
        held: held.into_iter().map(line).collect(),
        available: available.into_iter().map(line).collect(),
        admin_held: admin_held
            .into_iter()
            .map(|name| AdminRoleLine { removable: ctx.admin.may_grant(&name), name })
            .collect(),
        admin_available,
        sessions: open
            .into_iter()
            .filter(|s| s.within(idle, max, now))
            .map(|s| SessionLine {
                id: s.id,
                started: when(s.created_at),
                last_seen: when(s.last_seen_at),
                ip_address: s.ip_address,
            })
            .collect(),
    };
    Ok(send(status, &page))
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ConsoleError> {
    let ctx = signed_in(&req, &state).await?;
    let (realm, id) = path.into_inner();
    let done = notice(Some(Form::query(&req).get("done")));
    user_page(&state, &ctx, &realm, &id, None, Problems::none(), done).await
}

/// `POST .../users/{id}`: save, set password, roles, sessions, delete.
pub async fn action(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    let (ctx, form) = submitted(&req, &state, payload).await?;
    let (realm, id) = path.into_inner();
    let here = realm_url(&ctx.base, &realm, &format!("users/{id}"));
    let rest = format!("users/{id}");
    let done = |code: &str| Ok(see_other(&format!("{here}?done={code}")));
    match form.get("action") {
        "save" => {
            let changes = json!({
                "email": form.text("email"),
                "firstName": form.text("first_name"),
                "lastName": form.text("last_name"),
                "enabled": form.checked("enabled"),
                "emailVerified": form.checked("email_verified"),
            });
            match update_user(&state, &ctx.admin, &realm, &id, changes.as_object().cloned().unwrap_or_default()).await {
                Ok(()) => {
                    audit(&state, &ctx, &realm, Method::PUT, &rest).await;
                    done("saved")
                }
                Err(e) => {
                    let problems = Problems::from_refusal(e, &USER_FIELDS, "email")?;
                    user_page(&state, &ctx, &realm, &id, Some(form), problems, None).await
                }
            }
        }
        "set-password" => {
            let password = form.get("password");
            let problem = if password.is_empty() {
                Some("Enter a password.")
            } else if password != form.get("password_confirm") {
                Some("The two passwords differ.")
            } else if password.len() > MAX_PASSWORD_BYTES {
                Some(PASSWORD_TOO_LONG)
            } else {
                None
            };
            if let Some(message) = problem {
                return user_page(&state, &ctx, &realm, &id, None, Problems::one("password", message), None).await;
            }
            let temporary = form.checked("temporary");
            set_password(&state, &ctx.admin, &realm, &id, NewPassword::clear(password.to_owned(), temporary)).await?;
            audit(&state, &ctx, &realm, Method::PUT, &format!("{rest}/reset-password")).await;
            done("password")
        }
        action @ ("add-role" | "remove-role") => {
            let add = action == "add-role";
            let items = [json!({ "id": form.get("role") })];
            map_realm_roles(&state, &ctx.admin, &realm, &id, &items, add).await?;
            let method = if add { Method::POST } else { Method::DELETE };
            audit(&state, &ctx, &realm, method, &format!("{rest}/role-mappings/realm")).await;
            done(if add { "role-added" } else { "role-removed" })
        }
        action @ ("add-admin-role" | "remove-admin-role") => {
            let add = action == "add-admin-role";
            let chosen = vec![form.get("admin_role").to_owned()];
            map_management_roles(&state, &ctx.admin, &realm, &id, chosen, add).await?;
            let method = if add { Method::POST } else { Method::DELETE };
            let found = find_realm(&state, &realm).await?;
            let client = management_client_id(&state, &found).await?.unwrap_or_default();
            audit(&state, &ctx, &realm, method, &format!("{rest}/role-mappings/clients/{client}")).await;
            done(if add { "role-added" } else { "role-removed" })
        }
        "end-session" => {
            may_sign_out(&state, &ctx.admin, &realm, &id).await?;
            let entry = crate::admin::realms::cached_realm(&state, &realm).await?;
            let session = form.get("session");
            if !account::end_session(&state, &entry, &id, session).await? {
                return Err(ConsoleError::NotFound("Session".into()));
            }
            audit(&state, &ctx, &realm, Method::DELETE, &format!("sessions/{session}")).await;
            done("signed-out")
        }
        "logout-all" => {
            logout_user(&state, &ctx.admin, &realm, &id).await?;
            audit(&state, &ctx, &realm, Method::POST, &format!("{rest}/logout")).await;
            done("signed-out")
        }
        "delete" if form.get("confirm") != "yes" => {
            ctx.admin.require(&realm, Need::ManageUsers)?;
            let found = find_realm(&state, &realm).await?;
            let user = find_user(&state, &found, &id).await?;
            // No question whose answer would be refused.
            guard_target(&state, &ctx.admin, &found, &user).await?;
            let ask = Ask {
                action: "delete",
                id: None,
                title: format!("Delete the user {}?", user.username),
                message: "Their sessions, tokens and consents end. This cannot be undone.",
                button: "Delete user",
            };
            Ok(confirm(&ctx, &realm, "users", here, ask))
        }
        "delete" => {
            delete_user(&state, &ctx.admin, &realm, &id).await?;
            audit(&state, &ctx, &realm, Method::DELETE, &rest).await;
            Ok(see_other(&format!("{}?done=deleted", realm_url(&ctx.base, &realm, "users"))))
        }
        _ => Err(ConsoleError::BadRequest("Unknown action.".into())),
    }
}
