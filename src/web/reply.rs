//! Delivering an authorization response or error to the client's redirect
//! URI: query, fragment or form_post; always with `state` and `iss` (RFC 9207).

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, HttpResponseBuilder};

use super::flow::ReplyTo;
use super::pages::{FormPostPage, page_builder, render};
use crate::domain::authorization::ResponseMode;
use crate::error::ErrorCode;
use crate::services::realm_cache::RealmEntry;

pub fn deliver(
    entry: &RealmEntry,
    reply: &ReplyTo,
    mut params: Vec<(&'static str, String)>,
    cookies: Vec<Cookie<'static>>,
) -> HttpResponse {
    if let Some(state) = &reply.state {
        params.push(("state", state.clone()));
    }
    params.push(("iss", entry.issuer.clone()));
    let mut builder = match reply.mode {
        ResponseMode::FormPost => page_builder(StatusCode::OK),
        _ => {
            let mut builder = HttpResponse::Found();
            builder.insert_header((header::CACHE_CONTROL, "no-store"));
            builder
        }
    };
    add_cookies(&mut builder, cookies);
    match reply.mode {
        ResponseMode::Query | ResponseMode::Fragment => {
            let encoded = serde_urlencoded::to_string(&params).expect("string pairs encode");
            let separator = match reply.mode {
                ResponseMode::Fragment => '#',
                _ if reply.redirect_uri.contains('?') => '&',
                _ => '?',
            };
            let location = format!("{}{separator}{encoded}", reply.redirect_uri);
            builder.insert_header((header::LOCATION, location)).finish()
        }
        ResponseMode::FormPost => {
            let fields = params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            let page =
                FormPostPage { realm_display: &entry.realm.settings.display_name, action: &reply.redirect_uri, fields };
            render(&mut builder, &page)
        }
    }
}

pub fn deliver_error(
    entry: &RealmEntry,
    reply: &ReplyTo,
    code: ErrorCode,
    description: &str,
    cookies: Vec<Cookie<'static>>,
) -> HttpResponse {
    let description = crate::error::bounded_description(description.into()).into_owned();
    let params = vec![("error", code.as_str().to_owned()), ("error_description", description)];
    deliver(entry, reply, params, cookies)
}

pub fn add_cookies(builder: &mut HttpResponseBuilder, cookies: Vec<Cookie<'static>>) {
    for cookie in cookies {
        builder.cookie(cookie);
    }
}
