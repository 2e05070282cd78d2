//! [`Email`]: one rule for what an email address is, and one for when two are the same.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Error, ErrorKind, Result};

/// The longest address accepted: the 254 characters an SMTP path leaves for it
/// (RFC 5321 §4.5.3.1.3, 256 minus the angle brackets).
pub const MAX_EMAIL_LEN: usize = 254;

/// An email address as a person typed it, trimmed and checked once.
///
/// The rule: 1 to [`MAX_EMAIL_LEN`] bytes once trimmed, text on both sides of the
/// last `@`, and no whitespace or control character anywhere. Nothing more is
/// checked: each provider has its own idea of a valid address, and a stricter
/// rule here would refuse a person a provider holds.
///
/// Two addresses are the same person when [`Email::matches`] says so: trimmed and
/// compared without regard to case (Unicode lowercase). Every adapter and the fleet
/// use this one comparison to check that a lookup answered the person asked for.
///
/// ```
/// use unisession_core::Email;
/// let email = Email::parse("  Alice@Corp.example ").unwrap();
/// assert_eq!(email.as_str(), "Alice@Corp.example");
/// assert!(email.matches("alice@corp.example"));
/// assert!(!email.matches("alice@corp.example.evil"));
/// assert!(Email::parse("alice").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Checks `text` against the rule above; `InvalidInput` names what is wrong
    /// (never quoting more than the first characters of an oversized value).
    pub fn parse(text: &str) -> Result<Self> {
        let trimmed = text.trim();
        let refuse = |why: &str| {
            let shown: String = trimmed.chars().take(64).collect();
            let more = if shown.len() < trimmed.len() {
                "…"
            } else {
                ""
            };
            Err(Error::new(
                ErrorKind::InvalidInput,
                format!("{shown:?}{more} is not an email address: {why}"),
            ))
        };
        if trimmed.is_empty() {
            return refuse("it is empty");
        }
        if trimmed.len() > MAX_EMAIL_LEN {
            return refuse(&format!("it is longer than {MAX_EMAIL_LEN} bytes"));
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return refuse("it holds a space or a control character");
        }
        match trimmed.rsplit_once('@') {
            Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {
                Ok(Self(trimmed.to_owned()))
            }
            _ => refuse("it needs text on both sides of an @"),
        }
    }

    /// The address as given, trimmed (case kept: it is what the provider is asked for).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address in lower case: the form journals and reports key people by.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }

    /// Whether `other` (as a provider's record holds it) is this address: trimmed
    /// and compared without regard to case.
    pub fn matches(&self, other: &str) -> bool {
        let other = other.trim();
        self.0 == other || self.0.to_lowercase() == other.to_lowercase()
    }

    /// The identity echo: succeeds when one of `addresses` (every address the
    /// provider's record for `user` carries) is this one. Otherwise the answer is
    /// for somebody else, or cannot be shown to be this person, and acting on it
    /// could log out the wrong person: [`ErrorKind::IdentityMismatch`], naming
    /// `answered_by` (the call that answered) but not the other person's addresses.
    ///
    /// ```
    /// use unisession_core::{Email, ErrorKind, UserId};
    /// let alice = Email::parse("alice@corp.example").unwrap();
    /// let user = UserId::new("U1");
    /// assert!(alice.confirm(["bob@corp.example", "Alice@corp.example"], "users.info", &user).is_ok());
    /// let err = alice.confirm(["bob@corp.example"], "users.info", &user).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::IdentityMismatch);
    /// assert!(!err.to_string().contains("bob"));
    /// ```
    pub fn confirm<'a>(
        &self,
        addresses: impl IntoIterator<Item = &'a str>,
        answered_by: &str,
        user: &crate::UserId,
    ) -> Result<()> {
        let mut seen = 0;
        for address in addresses {
            if self.matches(address) {
                return Ok(());
            }
            seen += 1;
        }
        let what = if seen == 0 {
            "whose record carries no email address to check".to_owned()
        } else {
            format!("whose record carries {seen} other address(es) and not this one")
        };
        Err(Error::new(
            ErrorKind::IdentityMismatch,
            format!(
                "asked for {self}, {answered_by} answered with user {user}, {what}: the server ignored the filter or answered for somebody else, so nothing was done to that user"
            ),
        ))
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({:?})", self.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Email {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Email {
    type Error = Error;

    fn try_from(value: String) -> Result<Self> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_accepts_what_providers_hold_and_refuses_the_rest() {
        for ok in [
            "a@b",
            "first.last+tag@corp.example",
            "\"quoted@local\"@corp.example",
            "ünïcödé@corp.example",
            "  padded@corp.example\t",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok:?} must be accepted");
        }
        for bad in [
            "",
            "   ",
            "alice",
            "@corp.example",
            "alice@",
            "al ice@corp.example",
            "alice@corp.example\r\nBcc: x@y",
            "alice\0@corp.example",
        ] {
            let err = Email::parse(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
        let long = format!("{}@corp.example", "a".repeat(MAX_EMAIL_LEN));
        let err = Email::parse(&long).unwrap_err();
        assert!(err.message().contains("longer than 254"), "{err}");
        assert!(
            err.message().len() < 200,
            "an oversized value is not quoted whole: {err}"
        );
        let exact = format!("{}@b.c", "a".repeat(MAX_EMAIL_LEN - 4));
        assert_eq!(exact.len(), MAX_EMAIL_LEN);
        assert!(Email::parse(&exact).is_ok());
    }

    #[test]
    fn matching_ignores_case_and_padding_and_nothing_else() {
        let email = Email::parse("Ärne.Smith@Corp.Example").unwrap();
        assert!(email.matches("ärne.smith@corp.example"));
        assert!(email.matches(" ÄRNE.SMITH@CORP.EXAMPLE "));
        assert!(
            !email.matches("arne.smith@corp.example"),
            "no folding of accents"
        );
        assert!(!email.matches("ärne.smith@corp.example.org"));
        assert!(!email.matches("ärne.smith@corp.exampl"));
        // A Cyrillic "а" looks like a Latin "a" and is another address.
        let latin = Email::parse("alice@corp.example").unwrap();
        assert!(!latin.matches("\u{430}lice@corp.example"));
        assert_eq!(email.normalized(), "ärne.smith@corp.example");
    }

    #[test]
    fn serde_checks_the_rule() {
        let email: Email = serde_json::from_str("\"a@b\"").unwrap();
        assert_eq!(serde_json::to_string(&email).unwrap(), "\"a@b\"");
        assert!(serde_json::from_str::<Email>("\"nope\"").is_err());
    }
}
