//! Second factor: codes for exactly the method the server asks for.

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use unisession_core::{Error, ErrorKind, Result};

/// A second-factor method, as Rocket.Chat names it in `details.method` and in the
/// `x-2fa-method` header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TwoFactorMethod {
    /// The password fallback: the code is the hex SHA-256 of the password.
    Password,
    /// An authenticator app (RFC 6238).
    Totp,
    /// A code the server emails.
    Email,
    /// A method this adapter does not know, as the server spelled it.
    Other(String),
}

impl TwoFactorMethod {
    /// The server's name of the method.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Password => "password",
            Self::Totp => "totp",
            Self::Email => "email",
            Self::Other(name) => name,
        }
    }
}

impl From<&str> for TwoFactorMethod {
    fn from(name: &str) -> Self {
        match name {
            "password" => Self::Password,
            "totp" => Self::Totp,
            "email" => Self::Email,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for TwoFactorMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for TwoFactorMethod {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for TwoFactorMethod {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

/// What the server asked for in its `totp-required` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TwoFactorChallenge {
    /// The server's choice, not ours.
    pub method: TwoFactorMethod,
    /// Where an email code went (`emailOrUsername`), for the email method.
    pub email_or_username: Option<String>,
    /// Whether the server just generated (and mailed) a new code.
    pub code_generated: bool,
}

/// Obtains a code for a challenge, e.g. by asking an operator or reading a mailbox.
pub type CodeCallback =
    Arc<dyn Fn(TwoFactorChallenge) -> BoxFuture<'static, Result<SecretString>> + Send + Sync>;

/// The lowercase hex SHA-256 of the UTF-8 password: the `password` method's code.
///
/// ```
/// use secrecy::{ExposeSecret, SecretString};
/// let digest = unisession_rocketchat::password_digest(&SecretString::from("MyAdminPassword"));
/// assert_eq!(digest.expose_secret(), "04e6a0d0fd65de4869be263fc7d049e64dedad31b1a32f934f1f835f9e1a9937");
/// ```
pub fn password_digest(password: &SecretString) -> SecretString {
    SecretString::from(hex::encode(Sha256::digest(
        password.expose_secret().as_bytes(),
    )))
}

/// The second factors configured for the account.
#[derive(Clone, Default)]
pub(crate) struct SecondFactors {
    pub(crate) password: Option<SecretString>,
    pub(crate) totp_secret: Option<SecretString>,
    pub(crate) totp_callback: Option<CodeCallback>,
    pub(crate) email_callback: Option<CodeCallback>,
}

impl fmt::Debug for SecondFactors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecondFactors")
            .field("password", &self.password.is_some())
            .field("totp_secret", &self.totp_secret.is_some())
            .field("totp_callback", &self.totp_callback.is_some())
            .field("email_callback", &self.email_callback.is_some())
            .finish()
    }
}

fn missing(method: &str, how: &str) -> Error {
    Error::new(
        ErrorKind::TwoFactorRequired,
        format!("Rocket.Chat asks for a second factor by {method}; configure {how}"),
    )
    .with_code("totp-required")
}

/// Checks that a TOTP secret is valid base32.
pub(crate) fn check_totp_secret(secret: &SecretString) -> Result<()> {
    totp_rs::Secret::try_from_base32(secret.expose_secret().trim())
        .map(|_| ())
        .map_err(|_| Error::invalid_input("the TOTP secret is not valid base32"))
}

fn totp_code(secret: &SecretString) -> Result<SecretString> {
    let secret = totp_rs::Secret::try_from_base32(secret.expose_secret().trim())
        .map_err(|_| Error::invalid_input("the TOTP secret is not valid base32"))?;
    // Rocket.Chat uses speakeasy's defaults: SHA-1, 6 digits, 30-second steps.
    let totp = totp_rs::Builder::new()
        .with_secret(secret)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .build_noncompliant();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok(SecretString::from(totp.generate(now).to_string()))
}

impl SecondFactors {
    /// A code for exactly `challenge.method`.
    pub(crate) async fn code_for(&self, challenge: &TwoFactorChallenge) -> Result<SecretString> {
        match &challenge.method {
            TwoFactorMethod::Password => match &self.password {
                Some(password) => Ok(password_digest(password)),
                None => Err(missing(
                    "password",
                    "the account password (with_two_factor_password)",
                )),
            },
            TwoFactorMethod::Totp => match (&self.totp_secret, &self.totp_callback) {
                (Some(secret), _) => totp_code(secret),
                (None, Some(callback)) => callback(challenge.clone()).await,
                (None, None) => Err(missing(
                    "an authenticator app (TOTP)",
                    "a TOTP secret or a TOTP code callback",
                )),
            },
            TwoFactorMethod::Email => match &self.email_callback {
                Some(callback) => callback(challenge.clone()).await,
                None => Err(missing("an emailed code", "an email code callback")),
            },
            other @ TwoFactorMethod::Other(_) => Err(Error::new(
                ErrorKind::TwoFactorRequired,
                format!(
                    "Rocket.Chat asks for an unknown second-factor method {:?}",
                    other.as_str()
                ),
            )
            .with_code("totp-required")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_digest_matches_the_research_vectors() {
        let vectors = [
            (
                "MyAdminPassword",
                "04e6a0d0fd65de4869be263fc7d049e64dedad31b1a32f934f1f835f9e1a9937",
            ),
            (
                "meteor",
                "647d177cca8601046a3cb39e12f55bec5790bfcbc42199dd5fcf063200fac1d0",
            ),
            (
                "rocket.chat",
                "515ea73d42a1c74f96b9016051e47002791cde4cdb856d56be9b53ec45b0f3ad",
            ),
        ];
        for (password, digest) in vectors {
            assert_eq!(
                password_digest(&SecretString::from(password)).expose_secret(),
                digest
            );
        }
    }

    #[tokio::test]
    async fn each_method_takes_its_own_source_and_a_missing_one_is_typed() {
        let mut factors = SecondFactors::default();
        let challenge = |method: &str| TwoFactorChallenge {
            method: method.into(),
            email_or_username: None,
            code_generated: false,
        };
        for method in ["password", "totp", "email", "sms"] {
            let err = factors.code_for(&challenge(method)).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::TwoFactorRequired, "{method}");
        }
        factors.password = Some(SecretString::from("pw"));
        factors.totp_secret = Some(SecretString::from("JBSWY3DPEHPK3PXP"));
        factors.email_callback = Some(Arc::new(|c: TwoFactorChallenge| {
            Box::pin(async move { Ok(SecretString::from(format!("code-for-{}", c.method))) })
        }));
        let password = factors.code_for(&challenge("password")).await.unwrap();
        assert_eq!(password.expose_secret().len(), 64);
        let totp = factors.code_for(&challenge("totp")).await.unwrap();
        assert!(
            totp.expose_secret().len() == 6
                && totp.expose_secret().bytes().all(|b| b.is_ascii_digit())
        );
        let email = factors.code_for(&challenge("email")).await.unwrap();
        assert_eq!(email.expose_secret(), "code-for-email");
    }
}
