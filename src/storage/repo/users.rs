//! The `users` table.

use diesel::prelude::*;

use crate::domain::client::{SERVICE_ACCOUNT_PREFIX, service_account_username};
use crate::domain::user::User;
use crate::storage::schema::users;
use crate::storage::{DbConnection, StorageError, json_list, lower, to_json_list};

#[derive(Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
pub struct UserRow {
    pub id: String,
    pub realm_id: String,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub password_hash: Option<String>,
    pub enabled: bool,
    /// JSON list of `realm-management` roles (SPEC §6).
    pub admin_roles: String,
    pub attributes: String,
    pub created_at: i64,
    /// The user must choose a new password at the next sign-in.
    pub password_temporary: bool,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow").field("id", &self.id).field("username", &self.username).finish_non_exhaustive()
    }
}

impl UserRow {
    pub fn to_domain(&self) -> User {
        User {
            id: self.id.clone(),
            username: self.username.clone(),
            email: self.email.clone(),
            email_verified: self.email_verified,
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            enabled: self.enabled,
            password_hash: self.password_hash.clone(),
            password_temporary: self.password_temporary,
            // Written only as a JSON list of names; anything else holds none.
            admin_roles: serde_json::from_str(&self.admin_roles).unwrap_or_default(),
            representation: self.attributes.clone(),
        }
    }
}

pub fn find_by_username(
    conn: &mut DbConnection,
    realm_id: &str,
    username: &str,
) -> Result<Option<UserRow>, StorageError> {
    Ok(users::table
        .filter(users::realm_id.eq(realm_id))
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// A user by email, only when exactly one user of the realm has it.
pub fn find_by_unique_email(
    conn: &mut DbConnection,
    realm_id: &str,
    email: &str,
) -> Result<Option<UserRow>, StorageError> {
    let mut rows: Vec<UserRow> = users::table
        .filter(users::realm_id.eq(realm_id))
        .filter(users::email.eq(email.to_lowercase()))
        .select(UserRow::as_select())
        .limit(2)
        .load(conn)?;
    Ok(if rows.len() == 1 { rows.pop() } else { None })
}

/// Whether another user of the realm (not `except`) has this e-mail address
/// (addresses are stored lower-case). Called inside the transaction that
/// then stores the address: on PostgreSQL it first takes a transaction-scoped
/// advisory lock on the realm and address, so that two transactions (on one
/// node or on several) storing the same address run one after the other
/// instead of both finding it free. (No unique index: existing databases may
/// hold duplicates from before addresses were unique, which it would refuse.)
/// On SQLite the one writer already runs them one after the other.
pub fn email_taken(
    conn: &mut DbConnection,
    realm_id: &str,
    email: &str,
    except: Option<&str>,
) -> Result<bool, StorageError> {
    let email = email.to_lowercase();
    if let DbConnection::Postgres(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<diesel::sql_types::Text, _>(format!("user-email\n{realm_id}\n{email}"))
            .execute(c)?;
    }
    let holders: Vec<String> = users::table
        .filter(users::realm_id.eq(realm_id))
        .filter(users::email.eq(email))
        .select(users::id)
        .limit(2)
        .load(conn)?;
    Ok(holders.iter().any(|id| Some(id.as_str()) != except))
}

pub fn find_by_id(conn: &mut DbConnection, realm_id: &str, id: &str) -> Result<Option<UserRow>, StorageError> {
    Ok(native!(conn, |c| users::table
        .filter(users::realm_id.eq(realm_id))
        .filter(users::id.eq(id))
        .select(UserRow::as_select())
        .first(c)
        .optional())?)
}

pub fn list_by_realm(conn: &mut DbConnection, realm_id: &str) -> Result<Vec<UserRow>, StorageError> {
    Ok(users::table
        .filter(users::realm_id.eq(realm_id))
        .order(users::username.asc())
        .select(UserRow::as_select())
        .load(conn)?)
}

pub fn insert(conn: &mut DbConnection, row: &UserRow) -> Result<(), StorageError> {
    diesel::insert_into(users::table).values(row).execute(conn)?;
    Ok(())
}

/// The admin API's user search (Keycloak's `GET /users` parameters).
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// As typed (case is folded here); substring matches unless `exact`.
    pub username: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Keycloak's `search`, as typed: whitespace-separated terms, each
    /// matching username, e-mail, first or last name; see [`search_term`].
    pub search: Option<String>,
    pub exact: bool,
    pub enabled: Option<bool>,
    pub email_verified: Option<bool>,
    pub include_service_accounts: bool,
}

fn like_pattern(text: &str, exact: bool) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    if exact { escaped } else { format!("%{escaped}%") }
}

/// One term of Keycloak's `search`.
#[derive(Debug, PartialEq)]
enum SearchTerm {
    /// `"alice"`: equal to a field.
    Exact(String),
    /// A `LIKE` pattern: a prefix by default (`ali`, `ali*`), `*` matching
    /// anything anywhere (`*lic*` for a substring).
    Like(String),
}

fn search_term(term: &str) -> SearchTerm {
    if let Some(exact) = term.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        return SearchTerm::Exact(exact.to_owned());
    }
    let mut pattern = like_pattern(term, true).replace('*', "%");
    if !term.ends_with('*') {
        pattern.push('%');
    }
    SearchTerm::Like(pattern)
}

fn filtered<'a>(realm_id: &'a str, f: &'a UserFilter) -> users::BoxedQuery<'a, crate::storage::MultiBackend> {
    let mut q = users::table.filter(users::realm_id.eq(realm_id)).into_boxed();
    let text_filters = [(&f.username, 0), (&f.email, 1), (&f.first_name, 2), (&f.last_name, 3)];
    // Usernames and e-mail addresses are stored lower-cased (by Rust): terms
    // are lower-cased the same way. Names are stored as given: both sides go
    // through the database's lower(), so that a name always finds itself
    // (Rust lowers `İ` to `i̇`, PostgreSQL's C.UTF-8 to `i`).
    for (value, column) in text_filters {
        let Some(value) = value else { continue };
        let folded = value.to_lowercase();
        q = match column {
            0 if f.exact => q.filter(users::username.eq(folded)),
            0 => q.filter(users::username.like(like_pattern(&folded, f.exact)).escape('\\')),
            1 => q.filter(lower(users::email).like(like_pattern(&folded, f.exact)).escape('\\')),
            2 => q.filter(lower(users::given_name).like(lower(like_pattern(value, f.exact))).escape('\\')),
            _ => q.filter(lower(users::family_name).like(lower(like_pattern(value, f.exact))).escape('\\')),
        };
    }
    for term in f.search.iter().flat_map(|s| s.split_whitespace()) {
        q = match search_term(term) {
            SearchTerm::Exact(value) => {
                let folded = value.to_lowercase();
                q.filter(
                    users::username
                        .eq(folded.clone())
                        .or(lower(users::email).eq(folded))
                        .or(lower(users::given_name).eq(lower(value.clone())))
                        .or(lower(users::family_name).eq(lower(value))),
                )
            }
            SearchTerm::Like(pattern) => {
                let folded = pattern.to_lowercase();
                q.filter(
                    users::username
                        .like(folded.clone())
                        .escape('\\')
                        .or(lower(users::email).like(folded).escape('\\'))
                        .or(lower(users::given_name).like(lower(pattern.clone())).escape('\\'))
                        .or(lower(users::family_name).like(lower(pattern)).escape('\\')),
                )
            }
        };
    }
    if let Some(enabled) = f.enabled {
        q = q.filter(users::enabled.eq(enabled));
    }
    if let Some(verified) = f.email_verified {
        q = q.filter(users::email_verified.eq(verified));
    }
    if !f.include_service_accounts {
        q = q.filter(users::username.not_like(format!("{SERVICE_ACCOUNT_PREFIX}%")));
    }
    q
}

pub fn search(
    conn: &mut DbConnection,
    realm_id: &str,
    filter: &UserFilter,
    first: i64,
    max: Option<i64>,
) -> Result<Vec<UserRow>, StorageError> {
    // Always a LIMIT: SQLite accepts no OFFSET without one.
    let q = filtered(realm_id, filter).order(users::username.asc()).offset(first).limit(max.unwrap_or(i64::MAX));
    Ok(q.select(UserRow::as_select()).load(conn)?)
}

pub fn count(conn: &mut DbConnection, realm_id: &str, filter: &UserFilter) -> Result<i64, StorageError> {
    Ok(filtered(realm_id, filter).count().get_result(conn)?)
}

/// Users holding a realm role, by username, from `first` (at most `max`).
pub fn list_by_role(
    conn: &mut DbConnection,
    role_id: &str,
    first: i64,
    max: Option<i64>,
) -> Result<Vec<UserRow>, StorageError> {
    use crate::storage::schema::user_roles;
    Ok(users::table
        .inner_join(user_roles::table)
        .filter(user_roles::role_id.eq(role_id))
        .order(users::username.asc())
        .offset(first)
        .limit(max.unwrap_or(i64::MAX))
        .select(UserRow::as_select())
        .load(conn)?)
}

/// How many users hold a realm role.
pub fn count_by_role(conn: &mut DbConnection, role_id: &str) -> Result<i64, StorageError> {
    use crate::storage::schema::user_roles;
    Ok(user_roles::table.filter(user_roles::role_id.eq(role_id)).count().get_result(conn)?)
}

/// Users to whom the `realm-management` role `role` is granted directly
/// (`admin_roles` is a JSON list of role names, which hold no `"`).
pub fn list_by_admin_role(conn: &mut DbConnection, realm_id: &str, role: &str) -> Result<Vec<UserRow>, StorageError> {
    let rows: Vec<UserRow> = users::table
        .filter(users::realm_id.eq(realm_id))
        .filter(users::admin_roles.like(format!("%\"{role}\"%")))
        .order(users::username.asc())
        .select(UserRow::as_select())
        .load(conn)?;
    // The pattern is a prefilter; the list itself decides.
    Ok(rows
        .into_iter()
        .filter(|row| json_list(&row.admin_roles).is_ok_and(|held| held.iter().any(|r| r == role)))
        .collect())
}

pub fn delete(conn: &mut DbConnection, id: &str) -> Result<bool, StorageError> {
    Ok(diesel::delete(users::table.find(id)).execute(conn)? > 0)
}

pub fn delete_by_username(conn: &mut DbConnection, realm_id: &str, username: &str) -> Result<bool, StorageError> {
    Ok(diesel::delete(users::table.filter(users::realm_id.eq(realm_id)).filter(users::username.eq(username)))
        .execute(conn)?
        > 0)
}

impl UserRow {
    /// Whether this is the service-account user of the client with internal
    /// id `client_row_id` and `client_id`. The link is the user's
    /// `serviceAccountClientId` attribute, which holds the client's internal
    /// id, as in Keycloak; users made before that hold its `client_id`
    /// instead and count only under the matching name. A username alone
    /// never links: a client renamed keeps its user, and a later client of
    /// the old name, or an ordinary user named `service-account-…`, gets
    /// nothing of it.
    pub fn is_service_account_of(&self, client_row_id: &str, client_id: &str) -> bool {
        self.service_account_link().is_some_and(|link| self.links(&link, client_row_id, client_id))
    }

    /// The `serviceAccountClientId` attribute, if the user has one.
    pub fn service_account_link(&self) -> Option<String> {
        let attributes: serde_json::Value = serde_json::from_str(&self.attributes).ok()?;
        Some(attributes.get("serviceAccountClientId")?.as_str()?.to_owned())
    }

    /// Whether `link` (this user's [`Self::service_account_link`]) names the client.
    pub fn links(&self, link: &str, client_row_id: &str, client_id: &str) -> bool {
        link == client_row_id || (link == client_id && self.username == service_account_username(client_id))
    }
}

/// The service-account user of a client, if it has one yet.
pub fn find_service_account(
    conn: &mut DbConnection,
    realm_id: &str,
    client_row_id: &str,
    client_id: &str,
) -> Result<Option<UserRow>, StorageError> {
    Ok(list_service_accounts(conn, realm_id)?.into_iter().find(|u| u.is_service_account_of(client_row_id, client_id)))
}

/// The condition of the partial index `users_service_accounts`, word for
/// word: both backends use such an index only for a query that states its
/// condition, with the pattern written in (a bound pattern does not match).
const SERVICE_ACCOUNT_CONDITION: &str = "username LIKE 'service-account-%'";

/// The realm's service-account users, as a query (the index test plans this one).
#[diesel::dsl::auto_type(no_type_alias)]
fn service_accounts_of<'a>(realm_id: &'a str) -> _ {
    let condition: diesel::expression::SqlLiteral<diesel::sql_types::Bool> =
        diesel::dsl::sql::<diesel::sql_types::Bool>(SERVICE_ACCOUNT_CONDITION);
    users::table.filter(users::realm_id.eq(realm_id)).filter(condition)
}

/// Service-account users (`service-account-*`) of a realm, read through
/// their own small index (every realm load asks, whatever the realm's size).
pub fn list_service_accounts(conn: &mut DbConnection, realm_id: &str) -> Result<Vec<UserRow>, StorageError> {
    Ok(service_accounts_of(realm_id).select(UserRow::as_select()).load(conn)?)
}

pub fn count_by_realm(conn: &mut DbConnection, realm_id: &str) -> Result<i64, StorageError> {
    Ok(users::table.filter(users::realm_id.eq(realm_id)).count().get_result(conn)?)
}

/// Inserts many users in one statement (bulk seeding; at most a few hundred
/// rows per call, within the backends' bound-parameter limits).
pub fn insert_many(conn: &mut DbConnection, rows: &[UserRow]) -> Result<(), StorageError> {
    // MultiConnection has no batch insert: go to the backend's own connection.
    match conn {
        DbConnection::Sqlite(conn) => diesel::insert_into(users::table).values(rows).execute(conn)?,
        DbConnection::Postgres(conn) => diesel::insert_into(users::table).values(rows).execute(conn)?,
    };
    Ok(())
}

/// Replaces a temporary password, only while the user is enabled and the
/// temporary password is still `old_hash`; says whether it did.
pub fn replace_temporary_password(
    conn: &mut DbConnection,
    realm_id: &str,
    id: &str,
    old_hash: &str,
    new_hash: &str,
) -> Result<bool, StorageError> {
    let changed = diesel::update(
        users::table
            .filter(users::id.eq(id))
            .filter(users::realm_id.eq(realm_id))
            .filter(users::enabled.eq(true))
            .filter(users::password_temporary.eq(true))
            .filter(users::password_hash.eq(old_hash)),
    )
    .set((users::password_hash.eq(new_hash), users::password_temporary.eq(false)))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn update(conn: &mut DbConnection, row: &UserRow) -> Result<(), StorageError> {
    diesel::update(users::table.find(&row.id)).set(row).execute(conn)?;
    Ok(())
}

/// A user read to be changed in the caller's transaction: its row locked on
/// PostgreSQL until the transaction ends (SQLite has one writer), so that
/// concurrent changes to one user add up instead of the last one winning.
pub fn find_for_update(conn: &mut DbConnection, realm_id: &str, id: &str) -> Result<Option<UserRow>, StorageError> {
    let query = users::table.filter(users::realm_id.eq(realm_id)).filter(users::id.eq(id));
    Ok(match conn {
        DbConnection::Postgres(c) => query.select(UserRow::as_select()).for_update().first(c).optional()?,
        DbConnection::Sqlite(c) => query.select(UserRow::as_select()).first(c).optional()?,
    })
}

/// Changes a user's realm-management roles (a JSON list) as stored now (see
/// `find_for_update`). Whether the user exists.
pub fn change_admin_roles(
    conn: &mut DbConnection,
    realm_id: &str,
    user_id: &str,
    change: impl FnOnce(&mut Vec<String>),
) -> Result<bool, StorageError> {
    let Some(mut row) = find_for_update(conn, realm_id, user_id)? else {
        return Ok(false);
    };
    let mut held = json_list(&row.admin_roles)?;
    change(&mut held);
    held.sort();
    held.dedup();
    row.admin_roles = to_json_list(&held);
    update(conn, &row)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::{SERVICE_ACCOUNT_CONDITION, SERVICE_ACCOUNT_PREFIX, SearchTerm, search_term};

    #[test]
    fn the_service_account_condition_is_the_prefix() {
        assert_eq!(SERVICE_ACCOUNT_CONDITION, format!("username LIKE '{SERVICE_ACCOUNT_PREFIX}%'"));
    }

    /// SQLite plans the realm load's query with the small partial index,
    /// not a walk over every user of the realm.
    #[tokio::test]
    async fn service_accounts_are_found_through_their_own_index() {
        use diesel::prelude::*;
        use diesel::sql_types::Text;

        #[derive(QueryableByName)]
        struct Plan {
            #[diesel(sql_type = Text)]
            detail: String,
        }
        let dir = tempfile::tempdir().unwrap();
        let db = crate::storage::Db::connect(crate::storage::DatabaseUrl::Sqlite(dir.path().join("rg.db")), 1).unwrap();
        db.migrate().await.unwrap();
        let query = diesel::debug_query::<diesel::sqlite::Sqlite, _>(
            &super::service_accounts_of("r").select(crate::storage::schema::users::id),
        )
        .to_string();
        let sql = query.split(" -- binds").next().unwrap().to_owned();
        let plan: Vec<Plan> =
            db.run(move |conn| Ok(diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}")).load(conn)?)).await.unwrap();
        let details: Vec<_> = plan.iter().map(|p| p.detail.as_str()).collect();
        assert!(details.iter().any(|d| d.contains("users_service_accounts")), "{details:?}");
    }

    #[test]
    fn search_terms_follow_keycloak() {
        assert_eq!(search_term("ali"), SearchTerm::Like("ali%".into()));
        assert_eq!(search_term("ali*"), SearchTerm::Like("ali%".into()));
        assert_eq!(search_term("*lic*"), SearchTerm::Like("%lic%".into()));
        assert_eq!(search_term("*"), SearchTerm::Like("%".into()));
        assert_eq!(search_term("\"alice\""), SearchTerm::Exact("alice".into()));
        assert_eq!(search_term("50%_x"), SearchTerm::Like("50\\%\\_x%".into()));
    }
}
