//! Routing `/realms/{realm}/…` without a regular expression.
//!
//! actix-web matches a dynamic path segment with a regular expression, and
//! the engine it uses in this build (regex-lite's PikeVM) spent 15 % of the
//! server's time on a JWKS request just matching `/realms/{realm}` (perf,
//! 2026-11-29). actix-web's other engine, the `regex` crate, was barely
//! faster there (+1.5 %) and held 8 MiB more at rest (every route's
//! expression, per worker).
//! So the realm segment is cut off by hand before routing: its name goes
//! into the match info as `realm` (what `web::Path` extractors read), the
//! router sees only the rest of the path, and the realm's routes live in a
//! scope that only such requests enter ([`entered`]).

use actix_web::Error;
use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::guard::{Guard, fn_guard};
use actix_web::middleware::Next;

const PREFIX: &str = "/realms/";

/// The route pattern the cut-off part stood for (metrics label it so).
pub const PATTERN: &str = "/realms/{realm}";

/// Marks a request whose realm segment was cut off.
#[derive(Clone, Copy)]
pub struct RealmPrefix;

/// The realm name at the start of `path` and the length of `/realms/{name}`.
fn split(path: &str) -> Option<(&str, usize)> {
    let rest = path.strip_prefix(PREFIX)?;
    let name = rest.split('/').next().filter(|name| !name.is_empty())?;
    Some((name, PREFIX.len() + name.len()))
}

/// Middleware, before routing: moves the realm segment into the match info.
pub async fn cut_realm_prefix(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let info = req.match_info_mut();
    // The router's view of the path (already requoted), as the regex saw it.
    if let Some((name, len)) = split(info.unprocessed())
        && let Ok(len) = u16::try_from(len)
    {
        let name = name.to_owned();
        // Public but undocumented in actix-router 0.5 (the router's own
        // segment insert is crate-private); extractors percent-decode it
        // like any segment, which the tests check (`%61cme` is `acme`).
        info.add_static("realm", name);
        info.skip(len);
        req.extensions_mut().insert(RealmPrefix);
    }
    next.call(req).await
}

/// The guard of the realm routes' scope: only requests whose realm segment
/// was cut off enter it (so `/protocol/…` alone is not a realm route, and
/// `/realms/x/health/live` is not the health check).
pub fn entered() -> impl Guard {
    fn_guard(|ctx| ctx.req_data().contains::<RealmPrefix>())
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn the_realm_segment_is_the_one_after_realms() {
        assert_eq!(split("/realms/demo"), Some(("demo", 12)));
        assert_eq!(split("/realms/demo/"), Some(("demo", 12)));
        assert_eq!(split("/realms/demo/protocol/openid-connect/certs"), Some(("demo", 12)));
        assert_eq!(split("/realms/a%2Fb/x"), Some(("a%2Fb", 13)));
        for path in ["/realms", "/realms/", "/realms//x", "/realm/demo", "/admin/realms/demo", "/", ""] {
            assert_eq!(split(path), None, "{path}");
        }
    }
}
