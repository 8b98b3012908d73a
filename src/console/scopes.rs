//! Client scopes: the built-in ones, and the realm's own with the scopes
//! each `implies`; create, edit, delete after a confirmation.

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::clients::urlencode;
use super::pages::{Ask, Frame, ScopeItem, ScopesPage, confirm, send, status_of};
use super::session::{signed_in, submitted};
use super::{ConsoleError, Ctx, Form, Pager, Problems, audit, notice, realm_url, see_other};
use crate::admin::Need;
use crate::admin::realms::find_realm;
use crate::admin::scopes::{catalog, create_scope, delete_scope, update_scope};
use crate::state::AppState;
use crate::storage::repo::scopes as scope_rows;

const PAGE_SIZE: usize = 50;
const SCOPE_FIELDS: [(&str, &str); 3] = [("implied", "implies"), ("Client Scope", "name"), ("name", "name")];

async fn scopes_page(
    state: &AppState,
    ctx: &Ctx,
    realm: &str,
    query: &Form,
    form: Form,
    problems: Problems,
    done: Option<&'static str>,
) -> Result<HttpResponse, ConsoleError> {
    ctx.admin.require(realm, Need::ViewClients)?;
    let found = find_realm(state, realm).await?;
    let search = query.text("search").to_lowercase();
    let mut pager = Pager::new(
        query,
        PAGE_SIZE,
        format!("{}?search={}&", realm_url(&ctx.base, realm, "scopes"), urlencode(&search)),
    );
    let matching =
        catalog(state, &found.id).await?.into_iter().filter(|s| s.name.to_lowercase().contains(&search)).collect();
    let scopes = pager
        .take(matching)
        .into_iter()
        .map(|s| ScopeItem {
            implies: s.implies.join(" "),
            id: s.id,
            name: s.name,
            description: s.description,
            built_in: s.built_in,
        })
        .collect();
    let status = status_of(&problems);
    let page =
        ScopesPage { frame: Frame::new(ctx, Some(realm), "scopes", done), scopes, search, pager, form, problems };
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
    scopes_page(&state, &ctx, &path, &query, Form::default(), Problems::none(), done).await
}

/// `POST .../scopes`: create, save one scope, delete one scope.
pub async fn action(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    let (ctx, form) = submitted(&req, &state, payload).await?;
    let realm = path.as_str();
    let here = realm_url(&ctx.base, realm, "scopes");
    let id = form.get("id").to_owned();
    let fields = json!({
        "description": form.text("description"),
        "attributes": { "realmgate.implies": form.words("implies").join(" ") },
    });
    match form.get("action") {
        "create" => {
            let mut rep = fields.as_object().cloned().unwrap_or_default();
            rep.insert("name".into(), form.text("name").into());
            match create_scope(&state, &ctx.admin, realm, rep).await {
                Ok(id) => {
                    audit(&state, &ctx, realm, Method::POST, &format!("client-scopes/{id}")).await;
                    Ok(see_other(&format!("{here}?done=created")))
                }
                Err(e) => {
                    let problems = Problems::from_refusal(e, &SCOPE_FIELDS, "name")?;
                    scopes_page(&state, &ctx, realm, &Form::default(), form, problems, None).await
                }
            }
        }
        "save" => {
            let changes = fields.as_object().cloned().unwrap_or_default();
            match update_scope(&state, &ctx.admin, realm, id.clone(), changes).await {
                Ok(()) => {
                    audit(&state, &ctx, realm, Method::PUT, &format!("client-scopes/{id}")).await;
                    Ok(see_other(&format!("{here}?done=saved")))
                }
                Err(e) => {
                    let problems = Problems::refused_item(e, &format!("Scope {}", form.text("name")))?;
                    scopes_page(&state, &ctx, realm, &Form::default(), Form::default(), problems, None).await
                }
            }
        }
        "delete" if form.get("confirm") != "yes" => {
            ctx.admin.require(realm, Need::ManageClients)?;
            let (realm_id, scope_id) = (find_realm(&state, realm).await?.id, id.clone());
            let scope = state.db.run(move |conn| scope_rows::find_by_id(conn, &realm_id, &scope_id)).await?;
            let scope = scope.ok_or_else(|| ConsoleError::NotFound("Scope".into()))?;
            let ask = Ask {
                action: "delete",
                id: Some(id),
                title: format!("Delete the scope {}?", scope.name),
                message: "Clients stop receiving it; tokens already issued keep it until they expire.",
                button: "Delete scope",
            };
            Ok(confirm(&ctx, realm, "scopes", here, ask))
        }
        "delete" => {
            delete_scope(&state, &ctx.admin, realm, &id).await?;
            audit(&state, &ctx, realm, Method::DELETE, &format!("client-scopes/{id}")).await;
            Ok(see_other(&format!("{here}?done=deleted")))
        }
        _ => Err(ConsoleError::BadRequest("Unknown action.".into())),
    }
}
