//! Integration tests: the real server over HTTP on a random loopback port.

mod account;
mod admin;
mod admin_clients;
mod browser;
mod hardening;
mod helpers;

mod browser_rules;
mod chromium;
mod cli;
mod client_auth;
mod code_flow;
mod console;
mod console_chromium;
mod cors;
mod deploy;
mod device;
mod discovery;
mod introspection;
mod logout;
mod maintenance;
mod nodes;
mod openapi;
mod password_grant;
mod personal_tokens;
mod realms;
mod refresh;
mod relying_party;
mod revocation;
mod scopes;
mod serve_process;
mod session_tokens;
mod temporary_passwords;
mod token_input;
mod unwritable_output;
mod userinfo;
