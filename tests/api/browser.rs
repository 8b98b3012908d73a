//! A headless HTTP "browser": a cookie jar, no automatic redirects, and the
//! HTML forms of the login, consent and logout pages parsed with `scraper`.

use std::collections::BTreeMap;

use reqwest::header::LOCATION;
use scraper::{Html, Selector};

use crate::helpers::TestApp;

pub struct Browser {
    pub http: reqwest::Client,
}

/// A page as a browser sees it.
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

/// An HTML form: where it posts and its fields (hidden ones filled in).
#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub fields: BTreeMap<String, String>,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The page's first `<form method="post">`.
    pub fn form(&self) -> Form {
        let html = Html::parse_document(&self.body);
        let form_sel = Selector::parse("form[method=post]").unwrap();
        let input_sel = Selector::parse("input[name]").unwrap();
        let form = html.select(&form_sel).next().unwrap_or_else(|| panic!("no form in page: {}", self.body));
        let action = form.value().attr("action").unwrap_or_default().to_owned();
        let fields = form
            .select(&input_sel)
            .map(|i| {
                (i.value().attr("name").unwrap().to_owned(), i.value().attr("value").unwrap_or_default().to_owned())
            })
            .collect();
        Form { action, fields }
    }

    pub fn text(&self, selector: &str) -> Option<String> {
        let html = Html::parse_document(&self.body);
        let sel = Selector::parse(selector).unwrap();
        html.select(&sel).next().map(|e| e.text().collect::<String>().trim().to_owned())
    }

    pub fn is_login_page(&self) -> bool {
        self.status == 200 && self.body.contains("name=\"password\"")
    }

    pub fn is_consent_page(&self) -> bool {
        self.status == 200 && self.body.contains("name=\"decision\" value=\"allow\"")
    }

    /// The query (or fragment) parameters of the redirect.
    pub fn redirect_params(&self) -> BTreeMap<String, String> {
        let location = self.location().unwrap_or_else(|| panic!("not a redirect ({}): {}", self.status, self.body));
        let url = url::Url::parse(location).unwrap();
        let raw = url.fragment().map(str::to_owned).or_else(|| url.query().map(str::to_owned)).unwrap_or_default();
        url::form_urlencoded::parse(raw.as_bytes()).into_owned().collect()
    }
}

impl Browser {
    pub fn new() -> Self {
        let http =
            reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { http }
    }

    async fn page(response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();
        Page { status, headers, body }
    }

    pub async fn get(&self, url: &str) -> Page {
        Self::page(self.http.get(url).send().await.unwrap()).await
    }

    pub async fn submit(&self, form: &Form) -> Page {
        Self::page(self.http.post(&form.action).form(&form.fields).send().await.unwrap()).await
    }

    /// Fills the login form and submits it.
    pub async fn login(&self, page: &Page, username: &str, password: &str) -> Page {
        assert!(page.is_login_page(), "expected the login page, got {}: {}", page.status, page.body);
        let mut form = page.form();
        form.fields.insert("username".into(), username.into());
        form.fields.insert("password".into(), password.into());
        self.submit(&form).await
    }

    /// Presses Allow or Deny on the consent page.
    pub async fn decide(&self, page: &Page, decision: &str) -> Page {
        assert!(page.is_consent_page(), "expected the consent page, got {}: {}", page.status, page.body);
        let mut form = page.form();
        form.fields.insert("decision".into(), decision.into());
        self.submit(&form).await
    }
}

/// An authorization URL for `client` with the given extra parameters.
pub fn auth_url(app: &TestApp, realm: &str, params: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(params).unwrap();
    format!("{}?{query}", app.realm_url(realm, "/protocol/openid-connect/auth"))
}

pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
