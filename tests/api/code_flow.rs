//! The code flow with PKCE, implicit and hybrid, with the `openidconnect`
//! crate as the relying party and the HTML forms submitted as a browser would.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenVerifier, CoreProviderMetadata, CoreResponseType,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthorizationCode, AuthorizationCodeHash, ClientId, ClientSecret, CsrfToken,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::both_backends;
use crate::browser::Browser;
use crate::helpers::{TestApp, jwt_parts};

both_backends!(openidconnect_runs_the_code_flow_with_pkce, openidconnect_runs_implicit_and_hybrid);

fn rp_http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn openidconnect_runs_the_code_flow_with_pkce(app: TestApp) {
    let http = rp_http();
    let issuer = IssuerUrl::new(app.issuer("acme")).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &http).await.expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("web".into()),
        Some(ClientSecret::new("web-secret".into())),
    )
    .set_redirect_uri(RedirectUrl::new("http://127.0.0.1:9/cb".into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();

    let browser = Browser::new();
    let login = browser.get(url.as_str()).await;
    let back = browser.login(&login, "alice", "alice-pw").await;
    assert_eq!(back.status, 302, "{}", back.body);
    assert!(back.location().unwrap().starts_with("http://127.0.0.1:9/cb?"));
    let params = back.redirect_params();
    assert_eq!(params["state"], *csrf.secret());
    assert_eq!(params["iss"], app.issuer("acme"));
    let code = params["code"].clone();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();
    let claims = id_token.claims(&verifier, &nonce).expect("a valid ID token");
    assert_eq!(claims.preferred_username().unwrap().as_str(), "alice");
    assert_eq!(claims.email().unwrap().as_str(), "alice@example.com");
    assert!(claims.auth_time().is_some());
    let expected = claims.access_token_hash().expect("at_hash");
    let actual = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(&actual, expected);
    assert!(tokens.refresh_token().is_some());
    let (_, access) = jwt_parts(tokens.access_token().secret());
    assert_eq!(access["realm_access"], serde_json::json!({"roles": ["editor"]}), "{access}");
    assert_eq!(access["azp"], "web");
    let info = app.userinfo("acme", tokens.access_token().secret()).await;
    assert_eq!(info.json["sub"], claims.subject().as_str());

    // A second authorization in the same browser skips the login page.
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, _, _) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .set_pkce_challenge(challenge)
        .url();
    let again = browser.get(url.as_str()).await;
    assert_eq!(again.status, 302, "SSO: no login page the second time: {}", again.body);
    assert!(again.redirect_params().contains_key("code"));
}

async fn openidconnect_runs_implicit_and_hybrid(app: TestApp) {
    let http = rp_http();
    let issuer = IssuerUrl::new(app.issuer("acme")).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &http).await.expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("hybrid".into()),
        Some(ClientSecret::new("hybrid-secret".into())),
    )
    .set_redirect_uri(RedirectUrl::new("http://127.0.0.1:9/hybrid".into()).unwrap());
    let browser = Browser::new();
    let flows = [
        vec![CoreResponseType::IdToken],
        vec![CoreResponseType::IdToken, CoreResponseType::Token],
        vec![CoreResponseType::Code, CoreResponseType::IdToken],
        vec![CoreResponseType::Code, CoreResponseType::Token],
        vec![CoreResponseType::Code, CoreResponseType::IdToken, CoreResponseType::Token],
    ];
    for (i, types) in flows.into_iter().enumerate() {
        let flow = if types.contains(&CoreResponseType::Code) {
            CoreAuthenticationFlow::Hybrid(types.clone())
        } else {
            CoreAuthenticationFlow::Implicit(types.contains(&CoreResponseType::Token))
        };
        let (url, csrf, nonce) = client
            .authorize_url(flow, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("email".into()))
            .url();
        let page = browser.get(url.as_str()).await;
        let back = if i == 0 { browser.login(&page, "alice", "alice-pw").await } else { page };
        assert_eq!(back.status, 302, "{types:?}: {}", back.body);
        let location = back.location().unwrap();
        assert!(location.starts_with("http://127.0.0.1:9/hybrid#"), "fragment by default: {location}");
        let params = back.redirect_params();
        assert_eq!(params["state"], *csrf.secret(), "{types:?}");
        assert_eq!(params["iss"], app.issuer("acme"));
        assert_eq!(params.contains_key("code"), types.contains(&CoreResponseType::Code), "{types:?}");
        assert_eq!(params.contains_key("access_token"), types.contains(&CoreResponseType::Token), "{types:?}");
        if let Some(token) = params.get("access_token") {
            let (_, access) = jwt_parts(token);
            assert_eq!(access["realm_access"], serde_json::json!({"roles": ["editor"]}), "{types:?}: {access}");
        }
        let Some(raw) = params.get("id_token") else {
            assert!(!types.contains(&CoreResponseType::IdToken));
            continue;
        };
        let id_token: CoreIdToken = raw.parse().unwrap();
        let verifier: CoreIdTokenVerifier = client.id_token_verifier();
        let claims = id_token.claims(&verifier, &nonce).expect("valid ID token with our nonce");
        // s_hash (FAPI 1 Advanced, as Keycloak sends it): the left half of SHA-256 of state (RS256).
        use base64::Engine;
        use sha2::Digest;
        let digest = sha2::Sha256::digest(csrf.secret().as_bytes());
        let s_hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]);
        assert_eq!(jwt_parts(raw).1["s_hash"], s_hash.as_str(), "{types:?}");
        if let Some(code) = params.get("code") {
            let expected = claims.code_hash().expect("c_hash in a hybrid ID token");
            let actual = AuthorizationCodeHash::from_code(
                &AuthorizationCode::new(code.clone()),
                id_token.signing_alg().unwrap(),
                id_token.signing_key(&verifier).unwrap(),
            )
            .unwrap();
            assert_eq!(&actual, expected);
        }
        if let Some(token) = params.get("access_token") {
            let expected = claims.access_token_hash().expect("at_hash with a token");
            let actual = AccessTokenHash::from_token(
                &AccessToken::new(token.clone()),
                id_token.signing_alg().unwrap(),
                id_token.signing_key(&verifier).unwrap(),
            )
            .unwrap();
            assert_eq!(&actual, expected);
            assert_eq!(app.userinfo("acme", token).await.status, 200);
        }
        if let Some(code) = params.get("code") {
            let tokens = client
                .exchange_code(AuthorizationCode::new(code.clone()))
                .unwrap()
                .request_async(&http)
                .await
                .expect("exchange");
            assert!(tokens.id_token().is_some());
        }
    }
}
