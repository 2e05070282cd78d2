//! DocSpace's wire format (private serde types): camelCase, nulls omitted.

use serde::Deserialize;

/// The success envelope `{response, count, links, status, statusCode}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Envelope<T> {
    #[serde(default = "Option::default")]
    pub response: Option<T>,
    #[serde(default)]
    pub status: i32,
}

/// The error envelope `{status: 1, statusCode, error: {message, type, stack, hresult}}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorEnvelope {
    #[serde(default)]
    pub error: Option<ApiError>,
    /// Model-validation failures come as `ValidationProblemDetails` in `response`.
    #[serde(default)]
    pub response: Option<Problem>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ApiError {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Problem {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub errors: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `ActiveConnectionsDto`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActiveConnections {
    #[serde(default)]
    pub login_event: i32,
    #[serde(default)]
    pub items: Option<Vec<Connection>>,
}

/// `ActiveConnectionsItemDto`. `date` is a string on the wire, not the spec's object.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Connection {
    pub id: i32,
    #[serde(default)]
    pub tenant_id: i32,
    /// Always sent: a session nobody owns proves nothing, so its absence is an error.
    pub user_id: String,
    #[serde(default)]
    pub mobile: bool,
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub browser: Option<String>,
    #[serde(default)]
    pub platform: Option<String>,
    #[serde(default)]
    pub date: Option<serde_json::Value>,
    #[serde(default)]
    pub page: Option<String>,
}

/// The part of `EmployeeFullDto` used for lookups.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Employee {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub status: Option<i32>,
}

/// `POST authentication`.
#[derive(Debug, Deserialize)]
pub(crate) struct AuthToken {
    pub token: String,
}
