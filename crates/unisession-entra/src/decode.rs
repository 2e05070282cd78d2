//! The decoders of Graph's answers, public (and hidden) for the fuzzers and the
//! decoder property tests: any input gives a value or a typed error, never a panic.

use unisession_core::{Error, ErrorKind, Result};

/// Decodes a `users` collection: each user's id and every address it carries.
pub fn users(body: &[u8]) -> Result<Vec<(String, Vec<String>)>> {
    let users: crate::wire::Users = serde_json::from_slice(body)
        .map_err(|e| Error::new(ErrorKind::Decode, format!("not a users collection: {e}")))?;
    Ok(users
        .value
        .iter()
        .map(|u| {
            (
                u.id.clone(),
                u.addresses().into_iter().map(str::to_owned).collect(),
            )
        })
        .collect())
}

/// Maps an error answer to its [`ErrorKind`].
pub fn error_kind(status: u16, body: &[u8]) -> ErrorKind {
    crate::errors::api_error("decode", status, body).kind()
}
