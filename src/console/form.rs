//! Submitted console forms and the messages shown next to their fields.

use std::collections::HashMap;

use actix_web::{HttpRequest, web};

use super::ConsoleError;
use crate::admin::AdminError;
use crate::oidc::params::{MAX_BODY_BYTES, decoded_faithfully, read_body};

/// A form's (or a query's) fields; a missing field reads as empty.
#[derive(Debug, Default, Clone)]
pub struct Form(HashMap<String, String>);

impl Form {
    pub fn parse(bytes: &[u8]) -> Result<Self, ConsoleError> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes)
            .ok()
            .filter(|pairs| !pairs.iter().any(|(name, value)| name.contains('\0') || value.contains('\0')))
            .filter(|pairs| decoded_faithfully(bytes, pairs))
            .map(|pairs| Self(pairs.into_iter().collect()))
            .ok_or_else(|| ConsoleError::BadRequest("The form could not be read.".into()))
    }

    pub fn query(req: &HttpRequest) -> Self {
        Self::parse(req.query_string().as_bytes()).unwrap_or_default()
    }

    pub async fn read(payload: web::Payload) -> Result<Self, ConsoleError> {
        Self::read_up_to(payload, MAX_BODY_BYTES).await
    }

    /// A form that may carry a larger text (a realm export) than others.
    pub async fn read_up_to(payload: web::Payload, limit: usize) -> Result<Self, ConsoleError> {
        let bytes = read_body(payload, limit)
            .await
            .map_err(|_| ConsoleError::BadRequest("The form is too large or could not be read.".into()))?;
        Self::parse(&bytes)
    }

    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }

    /// The field, trimmed.
    pub fn text(&self, name: &str) -> &str {
        self.get(name).trim()
    }

    /// A checkbox: present means ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_owned(), value.into());
    }

    pub fn tick(&mut self, name: &str, on: bool) {
        if on {
            self.set(name, "on");
        } else {
            self.0.remove(name);
        }
    }

    /// A text area's non-empty lines (or space-separated words for `words`).
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.get(name).lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
    }

    pub fn words(&self, name: &str) -> Vec<String> {
        self.get(name).split_whitespace().map(str::to_owned).collect()
    }
}

/// Messages for a form's fields.
#[derive(Debug, Default)]
pub struct Problems(Vec<(&'static str, String)>);

impl Problems {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn one(field: &'static str, message: impl Into<String>) -> Self {
        Self(vec![(field, message.into())])
    }

    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A refused change of one item of a list page (a role, a scope), shown
    /// above the list: named, since the list holds many such forms.
    pub fn refused_item(error: AdminError, item: &str) -> Result<Self, ConsoleError> {
        let mut problems = Self::from_refusal(error, &[], "edit")?;
        for (_, message) in &mut problems.0 {
            *message = format!("{item}: {message}");
        }
        Ok(problems)
    }

    /// A refused change as a message next to the field it is about: the
    /// first field whose REST name (`needles`) the message mentions, else
    /// `fallback`. Anything but a refusal stays an error.
    pub fn from_refusal(
        error: AdminError,
        needles: &[(&str, &'static str)],
        fallback: &'static str,
    ) -> Result<Self, ConsoleError> {
        match error {
            AdminError::BadRequest(message) | AdminError::Conflict(message) => {
                let lower = message.to_lowercase();
                let field = needles
                    .iter()
                    .find(|(needle, _)| lower.contains(&needle.to_lowercase()))
                    .map_or(fallback, |(_, field)| *field);
                Ok(Self::one(field, message))
            }
            other => Err(other.into()),
        }
    }
}
