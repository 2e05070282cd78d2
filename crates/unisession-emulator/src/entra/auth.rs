//! `POST /{tenant}/oauth2/v2.0/token`: the client credentials grant with a client
//! secret or a certificate assertion (RS256, `x5t` naming the certificate), verified
//! with jsonwebtoken.

use axum::body::Bytes;
use axum::extract::{Path, State};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::*;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";

#[derive(Debug, Deserialize)]
struct Claims {
    #[allow(dead_code)]
    exp: i64,
}

/// An identity-platform error: `{"error","error_description":"AADSTS…","error_codes"}`.
fn aad_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    (
        status,
        Json(json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description}"),
            "error_codes": [code],
            "timestamp": Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
            "trace_id": uuid::Uuid::from_u128(fastrand::u128(..)).to_string(),
            "correlation_id": uuid::Uuid::from_u128(fastrand::u128(..)).to_string(),
        })),
    )
        .into_response()
}

pub(super) async fn token(
    State(entra): State<Arc<Entra>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let credentials = &entra.credentials;
    if tenant != credentials.tenant_id {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!("Tenant '{tenant}' not found."),
        );
    }
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    let client = form.get("client_id").cloned().unwrap_or_default();
    let can_revoke = if client == credentials.client_id {
        true
    } else if client == credentials.reader_client_id {
        false
    } else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{client}' was not found in the directory."),
        );
    };
    if form.get("scope").map(String::as_str) != Some(GRAPH_DEFAULT) {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid.",
        );
    }
    let secret = if can_revoke {
        &credentials.client_secret
    } else {
        &credentials.reader_client_secret
    };
    match (form.get("client_secret"), form.get("client_assertion")) {
        (Some(given), None) => {
            if given != secret {
                return aad_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
                );
            }
        }
        (None, Some(assertion)) => {
            if form.get("client_assertion_type").map(String::as_str) != Some(ASSERTION_TYPE) {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    50027,
                    "The client_assertion_type is not supported.",
                );
            }
            if let Err(response) =
                check_assertion(entra.as_ref(), &headers, &tenant, &client, assertion)
            {
                return response;
            }
        }
        _ => {
            return aad_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            );
        }
    }
    let lifetime = entra.config().access_token_lifetime;
    let mut data = entra.data.lock().expect("entra state lock");
    let token = format!("eyJ0eXAi{}", crate::okta::alnum(&mut data.rng, 80));
    data.access_tokens.insert(
        token.clone(),
        AccessToken {
            can_revoke,
            expires: Instant::now() + lifetime,
        },
    );
    Json(json!({
        "token_type": "Bearer",
        "expires_in": lifetime.as_secs(),
        "ext_expires_in": lifetime.as_secs(),
        "access_token": token,
    }))
    .into_response()
}

/// The certificate assertion: RS256, `x5t` naming the registered certificate,
/// `aud` the token endpoint, `iss` = `sub` = the client id, not expired.
fn check_assertion(
    entra: &Entra,
    headers: &HeaderMap,
    tenant: &str,
    client: &str,
    assertion: &str,
) -> Result<(), Response> {
    let refused =
        |code: u32, why: &str| aad_error(StatusCode::UNAUTHORIZED, "invalid_client", code, why);
    let Ok(jwt_header) = jsonwebtoken::decode_header(assertion) else {
        return Err(refused(50027, "JWT token is invalid or malformed."));
    };
    if !matches!(jwt_header.alg, Algorithm::RS256 | Algorithm::PS256) {
        return Err(refused(
            5002723,
            "The algorithm of the client assertion is not supported.",
        ));
    }
    let thumbprint = jwt_header.x5t.or(jwt_header.x5t_s256);
    if thumbprint.as_deref() != Some(entra.credentials.certificate_thumbprint.as_str()) {
        return Err(refused(
            700027,
            "Client assertion contains an invalid signature. The key was not found.",
        ));
    }
    let Ok(key) = DecodingKey::from_rsa_pem(crate::keys::RSA_PUBLIC_KEY.as_bytes()) else {
        return Err(refused(700027, "The certificate cannot be read."));
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let audience = format!("http://{host}/{tenant}/oauth2/v2.0/token");
    let mut validation = Validation::new(jwt_header.alg);
    validation.set_audience(&[audience.as_str()]);
    validation.set_issuer(&[client]);
    validation.sub = Some(client.to_owned());
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.leeway = 5;
    jsonwebtoken::decode::<Claims>(assertion, &key, &validation)
        .map(|_| ())
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as Jwt;
            match e.kind() {
                Jwt::InvalidSignature => {
                    refused(700027, "Client assertion failed signature validation.")
                }
                Jwt::ExpiredSignature => refused(
                    700024,
                    "Client assertion is not within its valid time range.",
                ),
                Jwt::InvalidAudience => refused(
                    700016,
                    "The audience of the client assertion is not this token endpoint.",
                ),
                _ => refused(700023, "The client assertion is invalid."),
            }
        })
}
