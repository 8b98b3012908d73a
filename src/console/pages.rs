//! The console's askama pages and the one way they go out.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

use super::{Ctx, Form, Pager, Problems, realm_url};
use crate::admin::{Admin, Need};
use crate::web::pages::{page_builder, render};

/// A realm's console sections (their path below the realm's, "" for its
/// settings), each with the right its page asks for.
const SECTIONS: [(&str, &str, Need); 6] = [
    ("settings", "", Need::ViewRealm),
    ("clients", "clients", Need::QueryClients),
    ("users", "users", Need::QueryUsers),
    ("roles", "roles", Need::AnyRole),
    ("scopes", "scopes", Need::ViewClients),
    ("audit", "audit", Need::ViewRealm),
];

/// The right each section's forms (create, edit, delete) ask for; an
/// administrator without it sees the section read-only.
const CHANGES: [(&str, Need); 5] = [
    ("settings", Need::ManageRealm),
    ("clients", Need::ManageClients),
    ("users", Need::ManageUsers),
    ("roles", Need::ManageRealm),
    ("scopes", Need::ManageClients),
];

/// The sections of `realm` the administrator may open.
fn sections_of(admin: &Admin, realm: &str) -> Vec<&'static str> {
    SECTIONS.iter().filter(|(_, _, need)| admin.may(realm, *need)).map(|(name, _, _)| *name).collect()
}

/// Where a realm's link leads: its settings, or the first section the
/// administrator may open (every administrator of a realm may see its roles).
pub fn realm_entry(admin: &Admin, realm: &str) -> &'static str {
    SECTIONS.iter().find(|(_, _, need)| admin.may(realm, *need)).map_or("roles", |(_, path, _)| *path)
}

/// What every console page shows around its content.
pub struct Frame {
    pub username: String,
    pub csrf: String,
    pub realm: Option<String>,
    /// The navigation entry to mark as current.
    pub section: &'static str,
    pub notice: Option<&'static str>,
    pub master_admin: bool,
    /// The console's own path, below the public URL's.
    pub base: String,
    /// The sections of `realm` this administrator may open (tabs for the others are left out).
    pub sections: Vec<&'static str>,
    /// The sections of `realm` this administrator may change (the others show no forms).
    pub changes: Vec<&'static str>,
}

impl Frame {
    pub fn new(ctx: &Ctx, realm: Option<&str>, section: &'static str, notice: Option<&'static str>) -> Self {
        Self {
            username: ctx.username.clone(),
            csrf: ctx.csrf.clone(),
            realm: realm.map(str::to_owned),
            section,
            notice,
            master_admin: ctx.admin.master_admin,
            base: ctx.base.clone(),
            sections: realm.map(|realm| sections_of(&ctx.admin, realm)).unwrap_or_default(),
            changes: realm
                .map(|realm| CHANGES.iter().filter(|(_, need)| ctx.admin.may(realm, *need)).map(|(s, _)| *s).collect())
                .unwrap_or_default(),
        }
    }

    pub fn may_change(&self, section: &str) -> bool {
        self.changes.contains(&section)
    }

    pub fn shows(&self, section: &str) -> bool {
        self.sections.contains(&section)
    }

    /// A URL under the current realm.
    pub fn url(&self, tail: &str) -> String {
        realm_url(&self.base, self.realm.as_deref().unwrap_or_default(), tail)
    }

    pub fn current(&self, section: &str) -> &'static str {
        if self.section == section { "page" } else { "false" }
    }
}

/// Sends a page of the signed-in console.
pub fn send<T: Template>(status: StatusCode, page: &T) -> HttpResponse {
    render(&mut page_builder(status), page)
}

/// A page that shows a form's problems answers 400 (the change was refused).
pub fn status_of(problems: &Problems) -> StatusCode {
    if problems.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST }
}

pub struct RealmLine {
    pub name: String,
    pub display: String,
    pub enabled: bool,
    /// The realm's first section this administrator may open.
    pub entry: &'static str,
}

#[derive(Template)]
#[template(path = "console/home.html")]
pub struct HomePage {
    pub frame: Frame,
    pub realms: Vec<RealmLine>,
    pub search: String,
    pub pager: Pager,
    pub form: Form,
    pub problems: Problems,
}

pub struct KeyLine {
    pub kid: String,
    pub algorithm: String,
    pub status: String,
    pub valid_to: Option<String>,
}

#[derive(Template)]
#[template(path = "console/realm.html")]
pub struct RealmPage {
    pub frame: Frame,
    pub form: Form,
    pub problems: Problems,
    pub keys: Vec<KeyLine>,
    pub algorithms: Vec<&'static str>,
    pub deletable: bool,
    /// Whether this administrator may end every session of the realm.
    pub sign_out_everyone: bool,
}

pub struct ClientLine {
    pub id: String,
    pub client_id: String,
    pub name: String,
    pub public: bool,
    pub enabled: bool,
}

#[derive(Template)]
#[template(path = "console/clients.html")]
pub struct ClientsPage {
    pub frame: Frame,
    pub clients: Vec<ClientLine>,
    pub search: String,
    pub pager: Pager,
    pub form: Form,
    pub problems: Problems,
}

#[derive(Template)]
#[template(path = "console/client.html")]
pub struct ClientPage {
    pub frame: Frame,
    pub id: String,
    pub client_id: String,
    pub form: Form,
    pub problems: Problems,
    pub confidential: bool,
    /// Whether the client has a service account (client credentials).
    pub service_account: bool,
    pub built_in: bool,
    /// The secret, when the admin asked to see it (or just regenerated it).
    pub secret: Option<String>,
    pub scope_names: String,
}

pub struct UserLine {
    pub id: String,
    pub username: String,
    pub email: String,
    pub name: String,
    pub enabled: bool,
}

#[derive(Template)]
#[template(path = "console/users.html")]
pub struct UsersPage {
    pub frame: Frame,
    pub users: Vec<UserLine>,
    pub search: String,
    /// The realm role whose holders are listed, if that is the list.
    pub role: Option<String>,
    pub pager: Pager,
    pub form: Form,
    pub problems: Problems,
}

pub struct RoleLine {
    pub id: String,
    pub name: String,
    /// Whether the signed-in administrator may take it away (or grant it).
    pub removable: bool,
}

/// A `realm-management` role the user holds, and whether the signed-in
/// administrator may take it away (only one they could grant).
pub struct AdminRoleLine {
    pub name: String,
    pub removable: bool,
}

pub struct SessionLine {
    pub id: String,
    pub started: String,
    pub last_seen: String,
    pub ip_address: Option<String>,
}

#[derive(Template)]
#[template(path = "console/user.html")]
pub struct UserPage {
    pub frame: Frame,
    /// Whether this administrator may change this user's profile, password,
    /// sessions and existence (manages users and outranks them); role forms
    /// go by the roles this administrator may grant.
    pub changeable: bool,
    pub id: String,
    pub username: String,
    pub password_temporary: bool,
    pub form: Form,
    pub problems: Problems,
    pub held: Vec<RoleLine>,
    pub available: Vec<RoleLine>,
    /// The `realm-management` roles held, and those this administrator may grant.
    pub admin_held: Vec<AdminRoleLine>,
    pub admin_available: Vec<&'static str>,
    pub sessions: Vec<SessionLine>,
}

pub struct RoleItem {
    pub id: String,
    pub name: String,
    pub description: String,
    pub scopes: String,
}

#[derive(Template)]
#[template(path = "console/roles.html")]
pub struct RolesPage {
    pub frame: Frame,
    pub roles: Vec<RoleItem>,
    /// Whether each role links to its holders (the administrator views users).
    pub show_holders: bool,
    pub search: String,
    pub pager: Pager,
    pub form: Form,
    pub problems: Problems,
}

pub struct ScopeItem {
    pub id: String,
    pub name: String,
    pub description: String,
    pub implies: String,
    pub built_in: bool,
}

#[derive(Template)]
#[template(path = "console/scopes.html")]
pub struct ScopesPage {
    pub frame: Frame,
    pub scopes: Vec<ScopeItem>,
    pub search: String,
    pub pager: Pager,
    pub form: Form,
    pub problems: Problems,
}

pub struct EventLine {
    pub time: String,
    pub kind: String,
    pub client: String,
    pub user: String,
    pub ip: String,
    pub error: String,
}

pub struct AdminEventLine {
    pub time: String,
    pub operation: String,
    pub resource_type: String,
    pub path: String,
    pub by: String,
    pub ip: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
pub struct AuditPage {
    pub frame: Frame,
    pub admin_log: bool,
    /// The filter form as sent.
    pub filter: Form,
    pub events: Vec<EventLine>,
    pub admin_events: Vec<AdminEventLine>,
    pub pager: Pager,
}

/// What a confirmation asks before `action` (on the item `id`, if any).
pub struct Ask<'a> {
    pub action: &'a str,
    pub id: Option<String>,
    pub title: String,
    pub message: &'a str,
    pub button: &'static str,
}

/// The "are you sure?" page; its form repeats the action at `here` with
/// `confirm=yes`, its cancel link goes back there.
pub fn confirm(ctx: &Ctx, realm: &str, section: &'static str, here: String, ask: Ask<'_>) -> HttpResponse {
    let mut fields = vec![("action".to_owned(), ask.action.to_owned())];
    fields.extend(ask.id.map(|id| ("id".to_owned(), id)));
    let page = ConfirmPage {
        frame: Frame::new(ctx, Some(realm), section, None),
        title: ask.title,
        message: ask.message.to_owned(),
        action: here.clone(),
        fields,
        button: ask.button,
        cancel: here,
    };
    send(StatusCode::OK, &page)
}

/// "Are you sure?" before a destructive action; the form repeats the
/// action with `confirm=yes`.
#[derive(Template)]
#[template(path = "console/confirm.html")]
pub struct ConfirmPage {
    pub frame: Frame,
    pub title: String,
    pub message: String,
    pub action: String,
    pub fields: Vec<(String, String)>,
    pub button: &'static str,
    pub cancel: String,
}
