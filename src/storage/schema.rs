//! The one diesel schema both backends share (text ids, JSON as text,
//! Unix seconds as BIGINT), matching `migrations/{sqlite,postgres}`.

diesel::table! {
    meta (id) {
        id -> Integer,
        epoch -> BigInt,
        secret_key_check -> Nullable<Binary>,
    }
}

diesel::table! {
    change_log (epoch) {
        epoch -> BigInt,
        realm_name -> Text,
        changed_at -> BigInt,
    }
}

diesel::table! {
    realms (id) {
        id -> Text,
        name -> Text,
        display_name -> Text,
        enabled -> Bool,
        access_token_lifetime -> BigInt,
        id_token_lifetime -> BigInt,
        refresh_token_lifetime -> BigInt,
        auth_code_lifetime -> BigInt,
        device_code_lifetime -> BigInt,
        device_poll_interval -> BigInt,
        sso_session_idle -> BigInt,
        sso_session_max -> BigInt,
        signing_algorithm -> Text,
        refresh_token_rotation -> Bool,
        refresh_token_reuse_grace -> BigInt,
        query_tokens -> Bool,
        basic_auth -> Bool,
        attributes -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    scopes (id) {
        id -> Text,
        realm_id -> Text,
        name -> Text,
        description -> Text,
        implies -> Text,
        attributes -> Text,
    }
}

diesel::table! {
    roles (id) {
        id -> Text,
        realm_id -> Text,
        name -> Text,
        description -> Text,
        scopes -> Text,
        attributes -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        realm_id -> Text,
        username -> Text,
        email -> Nullable<Text>,
        email_verified -> Bool,
        given_name -> Nullable<Text>,
        family_name -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        enabled -> Bool,
        admin_roles -> Text,
        attributes -> Text,
        created_at -> BigInt,
        password_temporary -> Bool,
    }
}

diesel::table! {
    user_roles (user_id, role_id) {
        user_id -> Text,
        role_id -> Text,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        realm_id -> Text,
        client_id -> Text,
        name -> Text,
        secret_ciphertext -> Nullable<Binary>,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        grant_types -> Text,
        scopes -> Text,
        consent_required -> Bool,
        enabled -> Bool,
        attributes -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        realm_id -> Text,
        algorithm -> Text,
        private_key_ciphertext -> Binary,
        public_jwk -> Text,
        created_at -> BigInt,
        retired_at -> Nullable<BigInt>,
        publish_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    refresh_families (id) {
        id -> Text,
        realm_id -> Text,
        client_id -> Text,
        user_id -> Text,
        scope -> Text,
        offline -> Bool,
        auth_time -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        session_id -> Nullable<Text>,
        generation -> Nullable<BigInt>,
        token_issued_at -> Nullable<BigInt>,
        token_expires_at -> Nullable<BigInt>,
        successor -> Nullable<Binary>,
        ip_address -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        family_id -> Text,
        issued_at -> BigInt,
        expires_at -> BigInt,
        spent_at -> Nullable<BigInt>,
        successor -> Nullable<Binary>,
    }
}

diesel::table! {
    revoked_tokens (jti) {
        jti -> Text,
        realm_id -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    sso_sessions (id) {
        id -> Text,
        token_hash -> Text,
        realm_id -> Text,
        user_id -> Text,
        auth_time -> BigInt,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        ended_at -> Nullable<BigInt>,
        ip_address -> Nullable<Text>,
    }
}

diesel::table! {
    auth_codes (code_hash) {
        code_hash -> Text,
        realm_id -> Text,
        client_id -> Text,
        user_id -> Text,
        session_id -> Text,
        redirect_uri -> Text,
        scope -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        code_challenge_method -> Nullable<Text>,
        auth_time -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        grant_id -> Text,
    }
}

diesel::table! {
    consents (user_id, client_id) {
        user_id -> Text,
        client_id -> Text,
        realm_id -> Text,
        scope -> Text,
        granted_at -> BigInt,
    }
}

diesel::table! {
    device_codes (device_code_hash) {
        device_code_hash -> Text,
        user_code -> Text,
        realm_id -> Text,
        client_id -> Text,
        scope -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        poll_interval -> BigInt,
        last_polled_at -> Nullable<BigInt>,
        status -> Text,
        user_id -> Nullable<Text>,
        auth_time -> Nullable<BigInt>,
        granted_scope -> Nullable<Text>,
    }
}

diesel::table! {
    rate_limits (key) {
        key -> Text,
        window_start -> BigInt,
        hits -> BigInt,
    }
}

diesel::table! {
    personal_tokens (id) {
        id -> Text,
        token_hash -> Text,
        realm_id -> Text,
        user_id -> Text,
        name -> Text,
        scope -> Text,
        created_at -> BigInt,
        expires_at -> Nullable<BigInt>,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    events (id) {
        id -> Text,
        realm_id -> Text,
        time -> BigInt,
        #[sql_name = "type"]
        event_type -> Text,
        client_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        session_id -> Nullable<Text>,
        ip_address -> Nullable<Text>,
        error -> Nullable<Text>,
        details -> Text,
    }
}

diesel::table! {
    admin_events (id) {
        id -> Text,
        realm_id -> Text,
        time -> BigInt,
        operation_type -> Text,
        resource_type -> Text,
        resource_path -> Text,
        auth_realm_id -> Text,
        auth_client_id -> Text,
        auth_user_id -> Text,
        ip_address -> Nullable<Text>,
    }
}

diesel::joinable!(scopes -> realms (realm_id));
diesel::joinable!(roles -> realms (realm_id));
diesel::joinable!(users -> realms (realm_id));
diesel::joinable!(clients -> realms (realm_id));
diesel::joinable!(signing_keys -> realms (realm_id));
diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(user_roles -> roles (role_id));
diesel::joinable!(refresh_tokens -> refresh_families (family_id));

diesel::allow_tables_to_appear_in_same_query!(
    events,
    admin_events,
    meta,
    change_log,
    realms,
    scopes,
    roles,
    users,
    user_roles,
    clients,
    signing_keys,
    refresh_families,
    refresh_tokens,
    revoked_tokens,
    sso_sessions,
    auth_codes,
    consents,
    device_codes,
    rate_limits,
    personal_tokens,
);
