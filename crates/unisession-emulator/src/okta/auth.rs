//! `POST /oauth2/v1/token`: the client credentials grant of an OAuth 2.0 service app,
//! authenticated with a `private_key_jwt` client assertion whose signature is really
//! verified (jsonwebtoken) against the app's registered keys.

use axum::body::Bytes;
use axum::extract::State;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::*;

/// The scopes granted to the service app.
pub(super) const GRANTED: [&str; 5] = [
    "okta.users.read",
    "okta.users.manage",
    "okta.sessions.read",
    "okta.sessions.manage",
    "okta.logs.read",
];

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Debug, Deserialize)]
struct Claims {
    iat: Option<i64>,
    exp: i64,
    jti: Option<String>,
}

/// An OAuth error answer: `{"error","error_description"}`.
fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(json!({"error": code, "error_description": description})),
    )
        .into_response()
}

fn invalid_client(description: &str) -> Response {
    oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description)
}

/// The key registered for `alg` (and `kid`, when the assertion names one).
fn key_for(alg: Algorithm, kid: Option<&str>) -> Result<DecodingKey, Response> {
    let (key, expected_kid) = match alg {
        Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 => (
            DecodingKey::from_rsa_pem(crate::keys::RSA_PUBLIC_KEY.as_bytes()),
            "rsa-1",
        ),
        Algorithm::ES256 => (
            DecodingKey::from_ec_pem(crate::keys::EC_PUBLIC_KEY.as_bytes()),
            "ec-1",
        ),
        _ => {
            return Err(invalid_client(
                "The client_assertion token is signed with an algorithm the client does not use.",
            ));
        }
    };
    if kid.is_some_and(|kid| kid != expected_kid) {
        return Err(invalid_client(
            "The client_assertion token names a key (kid) the client does not have.",
        ));
    }
    key.map_err(|_| invalid_client("The client's key cannot be read."))
}

pub(super) async fn token(
    State(okta): State<Arc<Okta>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server. Configured grant types: [client_credentials].",
        );
    }
    if form.get("client_assertion_type").map(String::as_str) != Some(ASSERTION_TYPE) {
        return invalid_client(
            "client_assertion_type must be jwt-bearer for a private_key_jwt client.",
        );
    }
    let Some(assertion) = form.get("client_assertion") else {
        return invalid_client("The client_assertion is missing.");
    };
    let Ok(jwt_header) = jsonwebtoken::decode_header(assertion) else {
        return invalid_client("The client_assertion token is malformed.");
    };
    let key = match key_for(jwt_header.alg, jwt_header.kid.as_deref()) {
        Ok(key) => key,
        Err(response) => return response,
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let audience = format!("http://{host}/oauth2/v1/token");
    let client_id = okta.credentials.client_id.clone();
    let mut validation = Validation::new(jwt_header.alg);
    validation.set_audience(&[audience.as_str()]);
    validation.set_issuer(&[client_id.as_str()]);
    validation.sub = Some(client_id.clone());
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.leeway = 5;
    let claims = match jsonwebtoken::decode::<Claims>(assertion, &key, &validation) {
        Ok(data) => data.claims,
        Err(e) => {
            use jsonwebtoken::errors::ErrorKind as Jwt;
            let why = match e.kind() {
                Jwt::InvalidSignature => "The client_assertion signature is invalid.",
                Jwt::ExpiredSignature => "The client_assertion token is expired.",
                Jwt::InvalidAudience => {
                    "The audience claim for client_assertion must be the endpoint invoked for the request."
                }
                Jwt::InvalidIssuer | Jwt::InvalidSubject => {
                    "The issuer and subject claims of client_assertion must be the client_id."
                }
                _ => "The client_assertion token is invalid.",
            };
            return invalid_client(why);
        }
    };
    let now = Utc::now().timestamp();
    if claims.exp - claims.iat.unwrap_or(now) > 3600 {
        return invalid_client(
            "The client_assertion token has an expiration too far in the future.",
        );
    }
    let mut data = okta.data();
    if let Some(jti) = claims.jti {
        if !data.used_jti.insert(jti) {
            return invalid_client("The client_assertion token has already been used.");
        }
    }
    let requested: Vec<String> = form
        .get("scope")
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    if requested.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "The authorization server resource does not have any configured default scopes, 'scope' must be provided.",
        );
    }
    let refused: Vec<&String> = requested
        .iter()
        .filter(|s| !GRANTED.contains(&s.as_str()))
        .collect();
    if !refused.is_empty() {
        let names: Vec<&str> = refused.iter().map(|s| s.as_str()).collect();
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!(
                "The following scopes are not allowed: [{}]",
                names.join(", ")
            ),
        );
    }
    let token = format!("eyJ{}", alnum(&mut data.rng, 80));
    let lifetime = okta.config.access_token_lifetime;
    data.access_tokens.insert(
        token.clone(),
        AccessToken {
            scopes: requested.iter().cloned().collect(),
            expires: Instant::now() + lifetime,
        },
    );
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(json!({
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs(),
            "access_token": token,
            "scope": requested.join(" "),
        })),
    )
        .into_response()
}
