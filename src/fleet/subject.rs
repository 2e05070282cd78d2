//! [`Subject`]: the person to offboard.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use unisession_core::UserId;

/// A person, identified by email (resolved in each provider with `find_user`), by
/// explicit per-provider user ids, or both (an explicit id wins for its provider).
///
/// ```
/// use unisession::fleet::Subject;
/// let alice = Subject::email("Alice@Corp.example").with_id("slack:corp", "W012A3CDE");
/// assert_eq!(alice.key(), "alice@corp.example");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Subject {
    /// The email, lower-cased.
    pub email: Option<String>,
    /// Explicit user ids, by provider name.
    pub ids: BTreeMap<String, UserId>,
}

impl Subject {
    /// A person known by email.
    pub fn email(email: impl AsRef<str>) -> Self {
        Self {
            email: Some(email.as_ref().trim().to_lowercase()),
            ids: BTreeMap::new(),
        }
    }

    /// A person known by ids only.
    pub fn ids(ids: impl IntoIterator<Item = (impl Into<String>, impl Into<UserId>)>) -> Self {
        Self {
            email: None,
            ids: ids.into_iter().map(|(p, u)| (p.into(), u.into())).collect(),
        }
    }

    /// Adds an explicit id for one provider.
    pub fn with_id(mut self, provider: impl Into<String>, user: impl Into<UserId>) -> Self {
        self.ids.insert(provider.into(), user.into());
        self
    }

    /// A stable key naming the subject in journals and reports: the email, or the ids.
    pub fn key(&self) -> String {
        match &self.email {
            Some(email) => email.clone(),
            None => {
                let ids: Vec<String> = self.ids.iter().map(|(p, u)| format!("{p}={u}")).collect();
                format!("ids:{}", ids.join(","))
            }
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}
