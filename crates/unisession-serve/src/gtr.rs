//! The Global Token Revocation request body (draft-parecki-oauth-global-token-revocation-05
//! §2, with the subject identifiers of RFC 9493 §3.2).
//!
//! The body is an object with one member, `sub_id`, a subject identifier. Drafts up
//! to -02, and Okta's and Auth0's guides until 2025, called it `subject`; both names
//! are accepted, and a body with both is accepted only when they are equal. A
//! subject identifier holds `format` and exactly the members its format defines
//! (RFC 9493 §3: "MUST NOT contain any members prohibited or not described").

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::config::canonical_email;

/// A subject identifier as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SubjectId {
    Email(String),
    IssSub { iss: String, sub: String },
    Opaque(String),
}

impl SubjectId {
    pub(crate) fn format(&self) -> &'static str {
        match self {
            Self::Email(_) => "email",
            Self::IssSub { .. } => "iss_sub",
            Self::Opaque(_) => "opaque",
        }
    }
}

/// Why a body is malformed (400); the text goes back to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Malformed(pub String);

fn malformed(message: impl Into<String>) -> Malformed {
    Malformed(message.into())
}

fn member(object: &Map<String, Value>, format: &str, name: &str) -> Result<String, Malformed> {
    match object.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(_) => Err(malformed(format!(
            "sub_id: {name} must be a non-empty string"
        ))),
        None => Err(malformed(format!(
            "sub_id: the {format} format needs {name}"
        ))),
    }
}

fn subject_id(value: &Value) -> Result<SubjectId, Malformed> {
    let Value::Object(object) = value else {
        return Err(malformed("sub_id must be an object with a format"));
    };
    let format = match object.get("format") {
        Some(Value::String(f)) => f.as_str(),
        _ => return Err(malformed("sub_id: format is missing")),
    };
    let allowed: &[&str] = match format {
        "email" => &["format", "email"],
        "iss_sub" => &["format", "iss", "sub"],
        "opaque" => &["format", "id"],
        other => {
            return Err(malformed(format!(
                "sub_id: the {other:?} format is not supported; use email, iss_sub or opaque"
            )));
        }
    };
    if let Some(extra) = object.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(malformed(format!(
            "sub_id: {extra} is not a member of the {format} format"
        )));
    }
    Ok(match format {
        "email" => {
            let raw = member(object, format, "email")?;
            SubjectId::Email(
                canonical_email(&raw)
                    .ok_or_else(|| malformed("sub_id: email is not an e-mail address"))?,
            )
        }
        "iss_sub" => SubjectId::IssSub {
            iss: member(object, format, "iss")?,
            sub: member(object, format, "sub")?,
        },
        _ => SubjectId::Opaque(member(object, format, "id")?),
    })
}

/// Reads a request body.
pub(crate) fn parse(body: &[u8]) -> Result<SubjectId, Malformed> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("the body is not JSON: {e}")))?;
    let Value::Object(object) = value else {
        return Err(malformed("the body must be a JSON object with sub_id"));
    };
    if let Some(extra) = object.keys().find(|k| *k != "sub_id" && *k != "subject") {
        return Err(malformed(format!("{extra} is not a member of the request")));
    }
    match (object.get("sub_id"), object.get("subject")) {
        (Some(a), Some(b)) => {
            let (a, b) = (subject_id(a)?, subject_id(b)?);
            if a == b {
                Ok(a)
            } else {
                Err(malformed("sub_id and subject name different people"))
            }
        }
        (Some(v), None) | (None, Some(v)) => subject_id(v),
        (None, None) => Err(malformed("sub_id is missing")),
    }
}

/// The e-mail address a subject stands for: its own, or the one the subjects table
/// maps it to (an opaque id under `opaque:CALLER`, the caller that sent it).
/// `None`: nobody known (404).
pub(crate) fn email_of(
    subject: &SubjectId,
    table: &BTreeMap<(String, String), String>,
    caller: &str,
) -> Option<String> {
    match subject {
        SubjectId::Email(email) => Some(email.clone()),
        SubjectId::IssSub { iss, sub } => table.get(&(iss.clone(), sub.clone())).cloned(),
        // An opaque id means something only to the system that sent it.
        SubjectId::Opaque(id) => table
            .get(&(format!("opaque:{caller}"), id.clone()))
            .cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any bytes: a subject or a reason, never a panic.
        #[test]
        fn any_body_is_read_or_refused(body in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse(&body);
        }

        /// Bodies shaped like requests: what is read is what was sent.
        #[test]
        fn an_email_read_is_the_one_sent(local in "[a-zA-Z0-9._+-]{1,20}", domain in "[a-z0-9-]{1,12}\\.[a-z]{2,6}", legacy in any::<bool>()) {
            let key = if legacy { "subject" } else { "sub_id" };
            let email = format!("{local}@{domain}");
            let body = serde_json::json!({key: {"format": "email", "email": email}}).to_string();
            match parse(body.as_bytes()) {
                Ok(SubjectId::Email(read)) => prop_assert_eq!(read, email.to_lowercase()),
                Ok(other) => prop_assert!(false, "{:?}", other),
                Err(_) => prop_assert!(crate::config::canonical_email(&email).is_none()),
            }
        }
    }

    #[test]
    fn the_drafts_formats_and_the_legacy_name() {
        assert_eq!(
            parse(br#"{"sub_id":{"format":"email","email":"Ann@Example.com"}}"#),
            Ok(SubjectId::Email("ann@example.com".into()))
        );
        assert_eq!(
            parse(br#"{"subject":{"format":"iss_sub","iss":"https://idp.example","sub":"145"}}"#),
            Ok(SubjectId::IssSub {
                iss: "https://idp.example".into(),
                sub: "145".into()
            })
        );
        assert_eq!(
            parse(br#"{"sub_id":{"format":"opaque","id":"e193"}}"#),
            Ok(SubjectId::Opaque("e193".into()))
        );
        let same = br#"{"sub_id":{"format":"email","email":"a@example.com"},"subject":{"format":"email","email":"A@example.com"}}"#;
        assert!(parse(same).is_ok());
    }

    #[test]
    fn malformed_bodies_are_refused_with_a_reason() {
        for body in [
            &b"not json"[..],
            b"[]",
            b"{}",
            br#"{"sub_id":"ann@example.com"}"#,
            br#"{"sub_id":{"email":"ann@example.com"}}"#,
            br#"{"sub_id":{"format":"phone_number","phone_number":"+12065550100"}}"#,
            br#"{"sub_id":{"format":"email","email":"ann@example.com","phone":"1"}}"#,
            br#"{"sub_id":{"format":"email","email":""}}"#,
            br#"{"sub_id":{"format":"email","email":"not-an-address"}}"#,
            br#"{"sub_id":{"format":"iss_sub","iss":"https://idp.example"}}"#,
            br#"{"sub_id":{"format":"email","email":"a@example.com"},"subject":{"format":"email","email":"b@example.com"}}"#,
            br#"{"sub_id":{"format":"email","email":"a@example.com"},"extra":1}"#,
        ] {
            assert!(parse(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn mapped_subjects_need_the_table() {
        let mut table = BTreeMap::new();
        table.insert(
            ("https://idp.example".to_owned(), "145".to_owned()),
            "ann@example.com".to_owned(),
        );
        table.insert(
            ("opaque:hr".to_owned(), "e193".to_owned()),
            "bob@example.com".to_owned(),
        );
        let iss_sub = SubjectId::IssSub {
            iss: "https://idp.example".into(),
            sub: "145".into(),
        };
        assert_eq!(
            email_of(&iss_sub, &table, "hr").as_deref(),
            Some("ann@example.com")
        );
        assert_eq!(
            email_of(&SubjectId::Opaque("e193".into()), &table, "hr").as_deref(),
            Some("bob@example.com")
        );
        // Another caller's opaque id is not this one's.
        assert_eq!(
            email_of(&SubjectId::Opaque("e193".into()), &table, "okta"),
            None
        );
        let other = SubjectId::IssSub {
            iss: "https://other.example".into(),
            sub: "145".into(),
        };
        assert_eq!(email_of(&other, &table, "hr"), None);
        // An opaque id never matches an iss_sub row, nor the reverse.
        assert_eq!(
            email_of(&SubjectId::Opaque("145".into()), &table, "hr"),
            None
        );
    }
}
