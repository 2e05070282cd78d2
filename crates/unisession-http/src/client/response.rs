//! [`Response`] and JSON decoding.

use super::*;

/// A complete HTTP answer: status, headers and the whole body.
#[derive(Clone)]
pub struct Response {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
    pub(super) route: &'static str,
    pub(super) provider: String,
    pub(super) retries: u32,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("route", &self.route)
            .field("body_bytes", &self.body.len())
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl Response {
    pub(super) fn with_retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The raw body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The route template the request was sent to.
    pub fn route(&self) -> &'static str {
        self.route
    }

    /// How many retries it took.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// Whether the body is empty or whitespace only.
    pub fn body_is_empty(&self) -> bool {
        self.body.iter().all(u8::is_ascii_whitespace)
    }

    /// Decodes the body as JSON. The error says where decoding failed but never
    /// quotes the body, which may hold tokens.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        decode_json(&self.body).map_err(|why| {
            // A truncated or garbled body is worth another try; a wrong shape is not.
            let temporary = !why.starts_with("unexpected JSON shape");
            Error::new(
                ErrorKind::Decode,
                format!("could not decode the answer of {}: {why}", self.route),
            )
            .with_provider(self.provider.clone())
            .with_status(self.status.as_u16())
            .with_temporary(temporary)
        })
    }
}

/// [`decode_json`] for answers that are JSON objects, as every envelope is. serde
/// would also read a struct from an array (`[[…], 5]`), which no server sends: that
/// is refused, so only an answer that names its fields can decode.
pub fn decode_json_object<T: DeserializeOwned>(body: &[u8]) -> std::result::Result<T, String> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | None => decode_json(body),
        Some(_) => Err("unexpected JSON shape: not an object".to_owned()),
    }
}

/// Decodes JSON, describing a failure by category and position only: serde_json's
/// own messages can quote values from the body.
pub fn decode_json<T: DeserializeOwned>(body: &[u8]) -> std::result::Result<T, String> {
    serde_json::from_slice(body).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "malformed JSON",
            serde_json::error::Category::Data => "unexpected JSON shape",
            serde_json::error::Category::Eof => "truncated JSON",
        };
        format!("{what} at line {} column {}", e.line(), e.column())
    })
}
