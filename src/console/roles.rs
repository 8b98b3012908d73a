//! Realm roles: list, create, edit (description, the scopes a role
//! allows), delete after a confirmation.

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::clients::urlencode;
use super::pages::{Ask, Frame, RoleItem, RolesPage, confirm, send, status_of};
use super::session::{signed_in, submitted};
use super::{ConsoleError, Ctx, Form, Pager, Problems, audit, notice, realm_url, see_other};
use crate::admin::Need;
use crate::admin::realms::find_realm;
use crate::admin::roles::{RoleKey, SentAttributes, change_role, create_role, delete_role};
use crate::state::AppState;
use crate::storage::json_list;
use crate::storage::repo::roles;

const PAGE_SIZE: usize = 50;
const ROLE_FIELDS: [(&str, &str); 3] = [("scopes", "scopes"), ("name", "name"), ("Role with name", "name")];

async fn roles_page(
    state: &AppState,
    ctx: &Ctx,
    realm: &str,
    query: &Form,
    form: Form,
    problems: Problems,
    done: Option<&'static str>,
) -> Result<HttpResponse, ConsoleError> {
    ctx.admin.require(realm, Need::AnyRole)?;
    let found = find_realm(state, realm).await?;
    let rows = state.db.run(move |conn| roles::list_by_realm(conn, &found.id)).await?;
    let search = query.text("search").to_lowercase();
    let mut pager = Pager::new(
        query,
        PAGE_SIZE,
        format!("{}?search={}&", realm_url(&ctx.base, realm, "roles"), urlencode(&search)),
    );
    let matching = rows.into_iter().filter(|r| r.name.to_lowercase().contains(&search)).collect();
    let mut items = Vec::new();
    for row in pager.take(matching) {
        items.push(RoleItem {
            scopes: json_list(&row.scopes)?.join(" "),
            id: row.id,
            name: row.name,
            description: row.description,
        });
    }
    let status = status_of(&problems);
    let page = RolesPage {
        frame: Frame::new(ctx, Some(realm), "roles", done),
        roles: items,
        show_holders: ctx.admin.may(realm, Need::ViewUsers),
        search,
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
    let query = Form::query(&req);
    let done = notice(Some(query.get("done")));
    roles_page(&state, &ctx, &path, &query, Form::default(), Problems::none(), done).await
}

/// `POST .../roles`: create, save one role, delete one role.
pub async fn action(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    let (ctx, form) = submitted(&req, &state, payload).await?;
    let realm = path.as_str();
    let here = realm_url(&ctx.base, realm, "roles");
    let id = form.get("id").to_owned();
    let fields = json!({
        "description": form.text("description"),
        "attributes": { "scopes": form.words("scopes") },
    });
    match form.get("action") {
        "create" => {
            let mut rep = fields.as_object().cloned().unwrap_or_default();
            rep.insert("name".into(), form.text("name").into());
            match create_role(&state, &ctx.admin, realm, rep).await {
                Ok(name) => {
                    audit(&state, &ctx, realm, Method::POST, &format!("roles/{name}")).await;
                    Ok(see_other(&format!("{here}?done=created")))
                }
                Err(e) => {
                    let problems = Problems::from_refusal(e, &ROLE_FIELDS, "name")?;
                    roles_page(&state, &ctx, realm, &Form::default(), form, problems, None).await
                }
            }
        }
        "save" => {
            let mut changes = fields.as_object().cloned().unwrap_or_default();
            // A new name renames the role, as the REST API's PUT does.
            changes.insert("name".into(), form.text("name").into());
            // Attributes the form does not show are kept.
            let role = RoleKey::Id(id.clone());
            match change_role(&state, &ctx.admin, realm, role, changes, SentAttributes::Merge).await {
                Ok(()) => {
                    audit(&state, &ctx, realm, Method::PUT, &format!("roles-by-id/{id}")).await;
                    Ok(see_other(&format!("{here}?done=saved")))
                }
                Err(e) => {
                    let problems = Problems::refused_item(e, &format!("Role {}", form.text("name")))?;
                    roles_page(&state, &ctx, realm, &Form::default(), Form::default(), problems, None).await
                }
            }
        }
        "delete" if form.get("confirm") != "yes" => {
            ctx.admin.require(realm, Need::ManageRealm)?;
            let (realm_id, role_id) = (find_realm(&state, realm).await?.id, id.clone());
            let role = state.db.run(move |conn| roles::find_by_id(conn, &realm_id, &role_id)).await?;
            let role = role.ok_or_else(|| ConsoleError::NotFound("Role".into()))?;
            let ask = Ask {
                action: "delete",
                id: Some(id),
                title: format!("Delete the role {}?", role.name),
                message: "Users holding it lose it, and the scopes it allowed them.",
                button: "Delete role",
            };
            Ok(confirm(&ctx, realm, "roles", here, ask))
        }
        "delete" => {
            delete_role(&state, &ctx.admin, realm, RoleKey::Id(id.clone())).await?;
            audit(&state, &ctx, realm, Method::DELETE, &format!("roles-by-id/{id}")).await;
            Ok(see_other(&format!("{here}?done=deleted")))
        }
        _ => Err(ConsoleError::BadRequest("Unknown action.".into())),
    }
}
