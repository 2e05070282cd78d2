//! The Shared Signals Framework receiver: Security Event Tokens (RFC 8417) pushed
//! (RFC 8935) or polled (RFC 8936), validated as SSF 1.0 §4 and RFC 8725 ask, mapped
//! onto offboarding jobs.
//!
//! Validation, in order: a compact JWS; `typ` `secevent+jwt` (the `application/`
//! prefix allowed; `JWT` or none only with `legacy_typ`, for transmitters built on a
//! generic JWT library); `alg` in the allow-list; `iss` the configured transmitter;
//! the signature by a key of the transmitter's `jwks_uri` (from its
//! `/.well-known/ssf-configuration`); `aud` one we accept; no `sub` and no `exp`
//! claim (SSF §4.1.3, §4.1.6); `jti` and `iat` present; exactly one event (the
//! interoperability profile). The subject is the top-level `sub_id`, else the event's
//! `subject` (Okta, Google), a complex subject's `user`, with or without `"format":
//! "complex"`, Google's `subject_type` read as `format`.
//!
//! A SET is stored (its `(iss, jti)` once) before it is answered 202 or acknowledged;
//! a SET seen before is answered 202 again and does nothing (RFC 8935 §2.2).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::config::{Action, Transmitter, canonical_email};

/// The event types the receiver acts on, by their short names in configuration.
pub(crate) const EVENTS: &[(&str, &str)] = &[
    (
        "session-revoked",
        "https://schemas.openid.net/secevent/caep/event-type/session-revoked",
    ),
    (
        "credential-change",
        "https://schemas.openid.net/secevent/caep/event-type/credential-change",
    ),
    (
        "account-disabled",
        "https://schemas.openid.net/secevent/risc/event-type/account-disabled",
    ),
    (
        "account-purged",
        "https://schemas.openid.net/secevent/risc/event-type/account-purged",
    ),
    (
        "credential-compromise",
        "https://schemas.openid.net/secevent/risc/event-type/credential-compromise",
    ),
    (
        "sessions-revoked",
        "https://schemas.openid.net/secevent/risc/event-type/sessions-revoked",
    ),
];

/// SSF's verification event; Google sends it under RISC's name.
pub(crate) const VERIFICATION: &[&str] = &[
    "https://schemas.openid.net/secevent/ssf/event-type/verification",
    "https://schemas.openid.net/secevent/risc/event-type/verification",
];
/// SSF's stream-updated event.
pub(crate) const STREAM_UPDATED: &str =
    "https://schemas.openid.net/secevent/ssf/event-type/stream-updated";

/// The RFC 8935 error codes (and SSF's `invalid_state`), named as the registry names
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)]
pub(crate) enum SetError {
    InvalidRequest(String),
    InvalidKey(String),
    InvalidIssuer,
    InvalidAudience,
    InvalidState,
}

impl SetError {
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidKey(_) => "invalid_key",
            Self::InvalidIssuer => "invalid_issuer",
            Self::InvalidAudience => "invalid_audience",
            Self::InvalidState => "invalid_state",
        }
    }

    pub(crate) fn description(&self) -> String {
        match self {
            Self::InvalidRequest(why) | Self::InvalidKey(why) => why.clone(),
            Self::InvalidIssuer => "the SET's issuer is not this stream's transmitter".to_owned(),
            Self::InvalidAudience => "the SET is not addressed to this receiver".to_owned(),
            Self::InvalidState => "the verification state is not the one requested".to_owned(),
        }
    }
}

fn bad(why: impl Into<String>) -> SetError {
    SetError::InvalidRequest(why.into())
}

/// Who an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EventSubject {
    Email(String),
    IssSub {
        iss: String,
        sub: String,
    },
    Opaque(String),
    /// None given, or a format the receiver does not map.
    Unknown(String),
}

/// A validated SET.
#[derive(Debug, Clone)]
pub(crate) struct Set {
    pub iss: String,
    pub jti: String,
    pub txn: Option<String>,
    pub event_type: String,
    pub event: Value,
    pub subject: EventSubject,
}

fn subject_of(value: &Value) -> EventSubject {
    let Value::Object(object) = value else {
        return EventSubject::Unknown("the subject is not an object".to_owned());
    };
    let format = object
        .get("format")
        .or_else(|| object.get("subject_type"))
        .and_then(Value::as_str)
        .map(|f| f.replace('-', "_"));
    let text = |key: &str| {
        object
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    match format.as_deref() {
        Some("email") => match text("email").as_deref().and_then(canonical_email) {
            Some(email) => EventSubject::Email(email),
            None => EventSubject::Unknown("an email subject without an address".to_owned()),
        },
        Some("iss_sub") => match (text("iss"), text("sub")) {
            (Some(iss), Some(sub)) => EventSubject::IssSub { iss, sub },
            _ => EventSubject::Unknown("an iss_sub subject without iss or sub".to_owned()),
        },
        Some("opaque") => match text("id") {
            Some(id) => EventSubject::Opaque(id),
            None => EventSubject::Unknown("an opaque subject without id".to_owned()),
        },
        // A complex subject, marked or not (authentik omits the format): its user.
        Some("complex") | None if object.contains_key("user") => subject_of(&object["user"]),
        Some(other) => EventSubject::Unknown(format!("the {other} subject format is not mapped")),
        None => EventSubject::Unknown("the subject has no format".to_owned()),
    }
}

/// Checks the claims of a SET whose signature, `iss` and `aud` were verified.
pub(crate) fn read_claims(claims: &Value, now: i64, skew: i64) -> Result<Set, SetError> {
    let Value::Object(claims) = claims else {
        return Err(bad("the claims are not an object"));
    };
    if claims.contains_key("sub") {
        return Err(bad(
            "a SET carries no sub claim (SSF 1.0 §4.1.3); its subject is sub_id",
        ));
    }
    if claims.contains_key("exp") {
        return Err(bad("a SET carries no exp claim (SSF 1.0 §4.1.6)"));
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| bad("jti is missing"))?
        .to_owned();
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad("iat is missing"))?;
    if iat > now + skew {
        return Err(bad("iat is in the future"));
    }
    let Some(Value::Object(events)) = claims.get("events") else {
        return Err(bad("events is missing"));
    };
    if events.len() != 1 {
        return Err(bad(format!(
            "a SET carries exactly one event; this one has {}",
            events.len()
        )));
    }
    let (event_type, event) = events
        .iter()
        .next()
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap_or_default();
    let subject = match claims.get("sub_id") {
        Some(sub_id) => subject_of(sub_id),
        None => match event.get("subject") {
            Some(subject) => subject_of(subject),
            None => EventSubject::Unknown("no sub_id and no subject".to_owned()),
        },
    };
    Ok(Set {
        iss: claims
            .get("iss")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        jti,
        txn: claims.get("txn").and_then(Value::as_str).map(str::to_owned),
        event_type,
        event,
        subject,
    })
}

/// What to do with an event: the configured action, except that a credential
/// being created never logs anybody out (CAEP §3.2: only `revoke`, `update` and
/// `delete` end a credential someone may hold).
pub(crate) fn action_for<'a>(transmitter: &'a Transmitter, set: &Set) -> Option<&'a Action> {
    let action = transmitter.actions.get(&set.event_type)?;
    if set.event_type == EVENTS[1].1
        && set.event.get("change_type").and_then(Value::as_str) == Some("create")
    {
        return None;
    }
    Some(action)
}

/// The e-mail address a subject stands for, through the subjects table for
/// `iss_sub`, and for an `opaque` id under `opaque:TRANSMITTER` (an opaque id means
/// something only to the system that sent it).
pub(crate) fn email_of(
    subject: &EventSubject,
    table: &BTreeMap<(String, String), String>,
    transmitter: &str,
) -> Option<String> {
    match subject {
        EventSubject::Email(email) => Some(email.clone()),
        EventSubject::IssSub { iss, sub } => table
            .get(&(iss.clone(), sub.clone()))
            .or_else(|| table.get(&(iss.trim_end_matches('/').to_owned(), sub.clone())))
            .cloned(),
        EventSubject::Opaque(id) => table
            .get(&(format!("opaque:{transmitter}"), id.clone()))
            .cloned(),
        EventSubject::Unknown(_) => None,
    }
}

/// The providers an action names (`None`: all).
pub(crate) fn providers_of(action: &Action) -> Option<BTreeSet<String>> {
    match action {
        Action::Providers(names) => Some(names.iter().cloned().collect()),
        _ => None,
    }
}

/// Where discovery is for an issuer: `/.well-known/ssf-configuration` inserted
/// between the host and the path (SSF 1.0 §7.1.1), the path's trailing `/` removed.
pub(crate) fn discovery_url(issuer: &str) -> Option<String> {
    let url = url::Url::parse(issuer).ok()?;
    let path = url.path().trim_end_matches('/');
    Some(format!(
        "{}/.well-known/ssf-configuration{}",
        url.origin().ascii_serialization(),
        path
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// JSON of any shape, a few levels deep, with the members SETs and subject
    /// identifiers use among its keys.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z@._:/-]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 6, |inner| {
            let key = prop_oneof![
                Just("sub_id".to_owned()),
                Just("subject".to_owned()),
                Just("format".to_owned()),
                Just("subject_type".to_owned()),
                Just("user".to_owned()),
                Just("email".to_owned()),
                Just("iss".to_owned()),
                Just("sub".to_owned()),
                Just("id".to_owned()),
                Just("events".to_owned()),
                Just("jti".to_owned()),
                Just("iat".to_owned()),
                Just("exp".to_owned()),
                Just("txn".to_owned()),
                "[a-z_]{1,8}",
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(key, inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Whatever the claims, reading them answers (a SET or a typed error) and a
        /// SET read always names exactly one event and a `jti`.
        #[test]
        fn any_claims_are_read_or_refused_without_panicking(claims in any_json()) {
            if let Ok(set) = read_claims(&claims, 1_700_000_000, 60) {
                prop_assert!(!set.jti.is_empty());
                prop_assert_eq!(claims["events"].as_object().map(|e| e.len()), Some(1));
                prop_assert!(claims.get("sub").is_none() && claims.get("exp").is_none());
            }
        }

        /// An email subject is only ever the address the identifier names.
        #[test]
        fn a_subject_is_never_invented(subject in any_json()) {
            if let EventSubject::Email(email) = subject_of(&subject) {
                let text = subject.to_string().to_lowercase();
                prop_assert!(text.contains(&email), "{email} is not in {text}");
            }
        }
    }

    #[test]
    fn discovery_goes_between_the_host_and_the_path() {
        assert_eq!(
            discovery_url("https://tr.example.com/issuer1").as_deref(),
            Some("https://tr.example.com/.well-known/ssf-configuration/issuer1")
        );
        assert_eq!(
            discovery_url("https://tr.example.com/").as_deref(),
            Some("https://tr.example.com/.well-known/ssf-configuration")
        );
    }

    #[test]
    fn subjects_are_read_where_each_transmitter_puts_them() {
        let now = 1_700_000_000;
        let set = |claims: Value| read_claims(&claims, now, 60).unwrap().subject;
        let event = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
        assert_eq!(
            set(
                json!({"jti":"1","iat":now,"sub_id":{"format":"email","email":"A@x.example"},"events":{event:{}}})
            ),
            EventSubject::Email("a@x.example".into())
        );
        // Okta: in the event.
        assert_eq!(
            set(
                json!({"jti":"1","iat":now,"events":{event:{"subject":{"format":"iss_sub","iss":"https://o.example","sub":"00u1"}}}})
            ),
            EventSubject::IssSub {
                iss: "https://o.example".into(),
                sub: "00u1".into()
            }
        );
        // Google: subject_type and iss-sub.
        assert_eq!(
            set(
                json!({"jti":"1","iat":now,"events":{event:{"subject":{"subject_type":"iss-sub","iss":"https://accounts.google.com/","sub":"7375"}}}})
            ),
            EventSubject::IssSub {
                iss: "https://accounts.google.com/".into(),
                sub: "7375".into()
            }
        );
        // Complex, with and without its format.
        assert_eq!(
            set(
                json!({"jti":"1","iat":now,"sub_id":{"format":"complex","user":{"format":"email","email":"b@x.example"},"session":{"format":"opaque","id":"s"}},"events":{event:{}}})
            ),
            EventSubject::Email("b@x.example".into())
        );
        assert_eq!(
            set(
                json!({"jti":"1","iat":now,"events":{event:{"subject":{"user":{"format":"email","email":"c@x.example"},"session":{"format":"opaque","id":"s"}}}}})
            ),
            EventSubject::Email("c@x.example".into())
        );
        assert!(matches!(
            set(
                json!({"jti":"1","iat":now,"sub_id":{"format":"phone_number","phone_number":"+1"},"events":{event:{}}})
            ),
            EventSubject::Unknown(_)
        ));
    }

    #[test]
    fn claims_a_set_must_not_have_or_must_have() {
        let now = 1_700_000_000;
        let event = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
        let ok = json!({"jti":"1","iat":now,"sub_id":{"format":"email","email":"a@x.example"},"events":{event:{}}});
        assert!(read_claims(&ok, now, 60).is_ok());
        for (change, why) in [
            (json!({"sub": "a"}), "sub"),
            (json!({"exp": now + 60}), "exp"),
            (json!({"jti": ""}), "jti"),
            (json!({"iat": now + 3600}), "iat"),
            (json!({"events": {}}), "no event"),
            (
                json!({"events": {event: {}, "https://schemas.openid.net/secevent/risc/event-type/account-disabled": {}}}),
                "two events",
            ),
        ] {
            let mut claims = ok.clone();
            for (k, v) in change.as_object().unwrap() {
                claims[k] = v.clone();
            }
            assert!(
                matches!(
                    read_claims(&claims, now, 60),
                    Err(SetError::InvalidRequest(_))
                ),
                "{why}"
            );
        }
        let mut no_iat = ok.clone();
        no_iat.as_object_mut().unwrap().remove("iat");
        assert!(read_claims(&no_iat, now, 60).is_err());
    }
}
