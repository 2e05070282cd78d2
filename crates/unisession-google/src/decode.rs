//! The decoders of the Directory API's answers, public (and hidden) for the fuzzers
//! and the decoder property tests: any input gives a value or a typed error, never a
//! panic.

use unisession_core::{Error, ErrorKind, Result};

/// Decodes a `users.get` answer: the id and every address.
pub fn user(body: &[u8]) -> Result<(String, Vec<String>)> {
    let user: crate::wire::User = serde_json::from_slice(body)
        .map_err(|e| Error::new(ErrorKind::Decode, format!("not a Directory user: {e}")))?;
    let addresses = user.addresses().into_iter().map(str::to_owned).collect();
    Ok((user.id, addresses))
}

/// Maps an error answer to its [`ErrorKind`]; whether it is a quota answer.
pub fn error_kind(status: u16, body: &[u8]) -> (ErrorKind, bool) {
    (
        crate::errors::api_error("decode", status, body).kind(),
        crate::errors::is_quota(status, body),
    )
}
