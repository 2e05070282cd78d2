//! `POST /token`: the JWT bearer grant of a service account with domain-wide
//! delegation, the assertion's RS256 signature verified with jsonwebtoken.

use axum::body::Bytes;
use axum::extract::State;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::*;

#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    scope: String,
    #[serde(default)]
    sub: Option<String>,
    iat: Option<i64>,
    exp: i64,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

pub(super) async fn token(
    State(google): State<Arc<Google>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = form(&body);
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Invalid grant_type: ",
        );
    }
    let Some(assertion) = form.get("assertion") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: assertion",
        );
    };
    let Ok(jwt_header) = jsonwebtoken::decode_header(assertion) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.",
        );
    };
    if jwt_header.alg != Algorithm::RS256 {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid JWT Signature.",
        );
    }
    let Ok(key) = DecodingKey::from_rsa_pem(crate::keys::RSA_PUBLIC_KEY.as_bytes()) else {
        return oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "internal_failure", "");
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let audience = format!("http://{host}/token");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience.as_str()]);
    validation.set_issuer(&[google.credentials.service_account.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.leeway = 5;
    let claims = match jsonwebtoken::decode::<Claims>(assertion, &key, &validation) {
        Ok(data) => data.claims,
        Err(e) => {
            use jsonwebtoken::errors::ErrorKind as Jwt;
            let why = match e.kind() {
                Jwt::InvalidSignature => "Invalid JWT Signature.",
                Jwt::ExpiredSignature => {
                    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."
                }
                Jwt::InvalidIssuer => "Invalid issuer: the service account is not known.",
                _ => "Invalid JWT.",
            };
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why);
        }
    };
    if claims.exp - claims.iat.unwrap_or(claims.exp - 3600) > 3600 {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        );
    }
    let scopes: Vec<String> = claims.scope.split_whitespace().map(str::to_owned).collect();
    if scopes.is_empty() || scopes.iter().any(|s| !DELEGATED.contains(&s.as_str())) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
        );
    }
    let mut data = google.data();
    let admin = match claims.sub.as_deref() {
        None => false,
        Some(sub) => match Google::user_index(&data, sub) {
            Some(i) if data.users[i].primary.eq_ignore_ascii_case(sub) => data.users[i].admin,
            _ => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid email or User ID",
                );
            }
        },
    };
    let token = format!("ya29.{}", crate::okta::alnum(&mut data.rng, 100));
    let lifetime = google.config().access_token_lifetime;
    data.access_tokens.insert(
        token.clone(),
        AccessToken {
            admin,
            scopes,
            expires: Instant::now() + lifetime,
        },
    );
    Json(json!({"access_token": token, "expires_in": lifetime.as_secs(), "token_type": "Bearer"}))
        .into_response()
}
