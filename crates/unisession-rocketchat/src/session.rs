//! Authentication: the login (with its second factor), the credential on every
//! request, a new login after an expired one, and the `totp-required` challenge.

use secrecy::{ExposeSecret, SecretString};
use unisession_core::{Error, ErrorKind, Result};
use unisession_http::{Method, RequestBuilder, Response, decode_json_object};

use crate::config::Credential;
use crate::errors::{error_for, error_type};
use crate::provider::{
    CLASS, LOGIN, RocketChatProvider, challenge_of, failure_of, permission_refusal,
    wants_second_factor,
};
use crate::twofactor::TwoFactorMethod;
use crate::wire;

impl RocketChatProvider {
    /// `POST login`, answering the second factor the server asks for (no password
    /// fallback at login).
    pub(crate) async fn login(
        &self,
        user: &str,
        password: &SecretString,
    ) -> Result<(String, SecretString)> {
        let mut code: Option<(TwoFactorMethod, SecretString)> = None;
        for _ in 0..2 {
            let mut body = serde_json::json!({"user": user, "password": password.expose_secret()});
            if let Some((_, code)) = &code {
                body["code"] = serde_json::Value::String(code.expose_secret().to_owned());
            }
            // Retried like a read: a repeated login at worst leaves the caller one more
            // token nobody received, where giving up would fail the whole run.
            let response = self
                .http
                .request(Method::POST, LOGIN)
                .json(&body)
                .idempotent(true)
                .send()
                .await?;
            if response.status() == 200 {
                let login: wire::Login = decode_json_object(response.body()).map_err(|why| {
                    Error::new(
                        ErrorKind::Decode,
                        format!("could not decode the answer of {LOGIN}: {why}"),
                    )
                    .with_temporary(!why.starts_with("unexpected JSON shape"))
                })?;
                return Ok((
                    login.data.user_id,
                    SecretString::from(login.data.auth_token),
                ));
            }
            let failure = failure_of(&response);
            match failure.error.as_deref() {
                Some("totp-required") if code.is_none() => {
                    let challenge = challenge_of(&failure);
                    let answer = self.factors.code_for(&challenge).await?;
                    code = Some((challenge.method, answer));
                }
                Some("totp-required" | "totp-invalid" | "totp-max-attempts") => {
                    return Err(Error::new(
                        ErrorKind::TwoFactorInvalid,
                        "Rocket.Chat refused the second factor at login",
                    )
                    .with_code(failure.error.clone().unwrap_or_default())
                    .with_status(response.status().as_u16()));
                }
                // Wrong user or password: 401 `Unauthorized` (older servers: 403).
                _ if matches!(response.status().as_u16(), 401 | 403) => {
                    return Err(Error::new(
                        ErrorKind::Unauthenticated,
                        format!("Rocket.Chat refused the login of {user}"),
                    )
                    .with_status(response.status().as_u16()));
                }
                // Anything else (a 5xx that outlasted the retries, a proxy's page) is
                // no verdict on the credential.
                _ => {
                    return Err(
                        error_for(response.status().as_u16(), response.body(), false)
                            .with_retries(response.retries()),
                    );
                }
            }
        }
        Err(Error::new(
            ErrorKind::TwoFactorInvalid,
            "Rocket.Chat refused the second factor at login",
        ))
    }

    pub(crate) async fn credentials(&self) -> Result<(String, SecretString)> {
        self.session
            .get_or_login(|| match &self.credential {
                Credential::Login { user, password } => Some(self.login(user, password)),
                Credential::Token { .. } => None,
            })
            .await?
            .ok_or_else(|| Error::new(ErrorKind::Unauthenticated, "no credential"))
    }

    pub(crate) async fn authorized(&self, request: RequestBuilder) -> Result<RequestBuilder> {
        let (user_id, token) = self.credentials().await?;
        let request = request
            .header("x-user-id", &user_id)
            .secret_header("x-auth-token", &token);
        Ok(match self.http.pacer().rate(CLASS) {
            Some(_) => request.class(CLASS),
            None => request,
        })
    }

    /// Sends a request built by `build`: logs in again once after a 401 (login mode),
    /// and answers a `totp-required` challenge once, with a code for exactly the
    /// method the server named. `totp-invalid` and `totp-max-attempts` are final.
    pub(crate) async fn send(&self, build: impl Fn() -> RequestBuilder) -> Result<Response> {
        let seen = *self.two_factor.lock().await;
        let login = matches!(self.credential, Credential::Login { .. });
        let response = self
            .session
            .with_relogin(
                login,
                |response| !permission_refusal(response),
                || async { self.authorized(build()).await?.send().await },
            )
            .await?;
        match wants_second_factor(&response) {
            Some(failure) => self.answer_second_factor(&build, failure, seen).await,
            None => Ok(response),
        }
    }

    pub(crate) async fn answer_second_factor(
        &self,
        build: &impl Fn() -> RequestBuilder,
        mut failure: wire::Failure,
        seen: u64,
    ) -> Result<Response> {
        let mut completed = self.two_factor.lock().await;
        if *completed != seen {
            // Another task completed a second factor meanwhile; the server may remember it.
            let retry = self.authorized(build()).await?.send().await?;
            match wants_second_factor(&retry) {
                None => return Ok(retry),
                Some(again) => failure = again,
            }
        }
        let challenge = challenge_of(&failure);
        let code = self.factors.code_for(&challenge).await?;
        let response = self
            .authorized(build())
            .await?
            .secret_header("x-2fa-code", &code)
            .header("x-2fa-method", challenge.method.as_str())
            .send()
            .await?;
        let refused = failure_of(&response);
        match error_type(&refused).as_deref() {
            Some(kind @ ("totp-invalid" | "totp-max-attempts")) if response.status() == 400 => {
                Err(Error::new(
                    ErrorKind::TwoFactorInvalid,
                    format!("Rocket.Chat refused the {} code", challenge.method),
                )
                .with_code(kind)
                .with_status(400))
            }
            Some("totp-required") => Err(Error::new(
                ErrorKind::TwoFactorRequired,
                format!(
                    "Rocket.Chat asked again for a second factor after a {} code",
                    challenge.method
                ),
            )
            .with_code("totp-required")),
            _ => {
                *completed += 1;
                Ok(response)
            }
        }
    }
}
