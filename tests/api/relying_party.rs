//! The `openidconnect` crate as a real relying party: discovery, JWKS, and
//! verification of the ID token from a password grant.

use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreProviderMetadata};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, Nonce};

use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(openidconnect_verifies_id_tokens);

async fn openidconnect_verifies_id_tokens(app: TestApp) {
    let http = openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (realm, client, secret, user, password, scope) in [
        ("acme", "web", "web-secret", "alice", "alice-pw", "openid profile"),
        ("other", "svc", "svc-secret", "alice", "other-pw", "openid"),
    ] {
        let issuer = IssuerUrl::new(app.issuer(realm)).unwrap();
        let metadata = CoreProviderMetadata::discover_async(issuer.clone(), &http).await.expect("discovery");
        let tokens = app.password_grant(realm, (client, secret), (user, password), scope).await;
        assert_eq!(tokens.status, 200, "{}", tokens.json);
        let id_token: CoreIdToken = tokens.str("id_token").parse().expect("an ID token");
        let verifier = CoreIdTokenVerifier::new_confidential_client(
            ClientId::new(client.into()),
            ClientSecret::new(secret.into()),
            issuer,
            metadata.jwks().clone(),
        )
        .set_allowed_algs(metadata.id_token_signing_alg_values_supported().clone());
        let claims = id_token.claims(&verifier, |_: Option<&Nonce>| Ok(())).expect("a valid ID token");
        assert_eq!(claims.issuer().as_str(), app.issuer(realm));
        if scope.contains("profile") {
            assert_eq!(claims.preferred_username().map(|u| u.as_str()), Some(user));
        }

        // A token of one realm does not verify against another realm's keys.
        let wrong_issuer = IssuerUrl::new(app.issuer(if realm == "acme" { "other" } else { "acme" })).unwrap();
        let other_meta = CoreProviderMetadata::discover_async(wrong_issuer.clone(), &http).await.unwrap();
        let wrong = CoreIdTokenVerifier::new_confidential_client(
            ClientId::new(client.into()),
            ClientSecret::new(secret.into()),
            wrong_issuer,
            other_meta.jwks().clone(),
        );
        assert!(id_token.claims(&wrong, |_: Option<&Nonce>| Ok(())).is_err());
    }
}
