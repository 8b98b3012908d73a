//! Prometheus metrics: requests and latencies by endpoint and status, tokens
//! issued by realm and grant. Served as text at `/metrics`.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::realm_path::{self, RealmPrefix};
use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IssueLabels {
    realm: String,
    grant_type: String,
}

type LatencyFamily = Family<EndpointLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    tokens_issued: Family<IssueLabels, Counter>,
    password_checks: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("realmgate");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by endpoint, method and status", requests.clone());
        let latency: LatencyFamily =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.0001, 2.5, 12)));
        registry.register("http_request_duration_seconds", "HTTP request latency by endpoint", latency.clone());
        let tokens_issued = Family::<IssueLabels, Counter>::default();
        registry.register("tokens_issued", "Tokens issued by realm and grant type", tokens_issued.clone());
        let password_checks = Counter::default();
        registry.register(
            "password_checks",
            "Password checks (argon2id verifications), of known users and the stand-ins for unknown or locked-out ones",
            password_checks.clone(),
        );
        Self { registry, requests, latency, tokens_issued, password_checks }
    }

    pub fn password_checked(&self) {
        self.password_checks.inc();
    }

    pub fn token_issued(&self, realm: &str, grant_type: &str) {
        self.tokens_issued
            .get_or_create(&IssueLabels { realm: realm.to_owned(), grant_type: grant_type.to_owned() })
            .inc();
    }

    fn observe(&self, endpoint: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels { endpoint: endpoint.to_owned(), method: method.to_owned(), status })
            .inc();
        self.latency.get_or_create(&EndpointLabels { endpoint: endpoint.to_owned() }).observe(seconds);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// Marks a request answered by the fallback service: no route matched it.
/// (For such a request actix-web looks its pattern up by path, which does
/// not see guards, so `/protocol/openid-connect/certs` without a realm
/// would be labelled with the realm route's pattern.)
pub struct Unrouted;

/// The route pattern the router chose for `req` (never the raw path, so
/// label values stay bounded), or `unmatched`. Read after routing: before
/// it, finding the pattern walks the route table and runs a regular
/// expression for each dynamic route on the way.
fn endpoint(req: &HttpRequest) -> String {
    if req.extensions().contains::<Unrouted>() {
        return "unmatched".to_owned();
    }
    match req.match_pattern() {
        Some(pattern) if req.extensions().contains::<RealmPrefix>() => format!("{}{pattern}", realm_path::PATTERN),
        Some(pattern) => pattern,
        None => "unmatched".to_owned(),
    }
}

/// Middleware: counts and times every request by its route pattern.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let metrics = req.app_data::<web::Data<AppState>>().map(|s| std::sync::Arc::clone(&s.metrics));
    let response = next.call(req).await?;
    if let Some(metrics) = metrics {
        let endpoint = endpoint(response.request());
        metrics.observe(&endpoint, method.as_str(), response.status().as_u16(), started.elapsed().as_secs_f64());
    }
    Ok(response)
}

/// OpenMetrics to a scraper that asks for it (Prometheus does), the
/// Prometheus text format (0.0.4) to anyone else.
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> actix_web::HttpResponse {
    let openmetrics = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/openmetrics-text"));
    let rendered = state.metrics.render();
    if openmetrics {
        return actix_web::HttpResponse::Ok()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(rendered);
    }
    actix_web::HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(prometheus_text(&rendered))
}

/// The Prometheus text format of an OpenMetrics exposition: a counter's
/// family is named as its samples (`…_total`), and the `# UNIT` and
/// `# EOF` lines, which that format has not, are left out.
fn prometheus_text(openmetrics: &str) -> String {
    let counters: Vec<&str> =
        openmetrics.lines().filter_map(|line| line.strip_prefix("# TYPE ")?.strip_suffix(" counter")).collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let renamed = ["# TYPE ", "# HELP "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters.contains(&name).then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(line) => out.push_str(&line),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::prometheus_text;

    #[test]
    fn counters_are_named_as_their_samples_in_the_text_format() {
        let open = "# HELP r Requests.\n# TYPE r counter\nr_total{a=\"1\"} 2\n# HELP l Latency.\n# TYPE l histogram\n# UNIT l seconds\nl_sum 1.0\n# EOF\n";
        let text = prometheus_text(open);
        assert_eq!(
            text,
            "# HELP r_total Requests.\n# TYPE r_total counter\nr_total{a=\"1\"} 2\n# HELP l Latency.\n# TYPE l histogram\nl_sum 1.0\n"
        );
    }
}
