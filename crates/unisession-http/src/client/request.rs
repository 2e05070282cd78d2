//! [`RequestBuilder`]: a request being described, nothing sent yet.

use super::*;

/// One request being described. Nothing is sent until [`send`](Self::send).
#[must_use = "a request does nothing until sent"]
pub struct RequestBuilder {
    pub(super) client: HttpClient,
    pub(super) method: Method,
    pub(super) route: &'static str,
    pub(super) params: Vec<String>,
    pub(super) query: Vec<(String, String)>,
    pub(super) headers: HeaderMap,
    pub(super) body: Option<(Bytes, &'static str)>,
    pub(super) class: Option<PaceClass>,
    pub(super) idempotent: bool,
    pub(super) error: Option<Error>,
}

impl fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("method", &self.method)
            .field("route", &self.route)
            .field("class", &self.class)
            .finish_non_exhaustive()
    }
}

impl RequestBuilder {
    /// Fills the next `{…}` of the route with `value`, as one encoded path segment.
    pub fn param(mut self, value: impl Into<String>) -> Self {
        self.params.push(value.into());
        self
    }

    /// Adds a query parameter (encoded).
    pub fn query(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.push((name.to_owned(), value.into()));
        self
    }

    /// Adds a header. A value that is not a valid header (e.g. with CR/LF) fails the
    /// request with `InvalidInput` before anything is sent.
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        match HeaderValue::from_str(value) {
            Ok(value) => {
                self.headers.append(HeaderName::from_static(name), value);
            }
            Err(_) => self.fail(Error::invalid_input(format!(
                "the value of header {name} is not a valid header value"
            ))),
        }
        self
    }

    /// Adds a header whose value is secret: marked sensitive, never logged.
    pub fn secret_header(mut self, name: &'static str, value: &SecretString) -> Self {
        match HeaderValue::from_str(value.expose_secret()) {
            Ok(mut value) => {
                value.set_sensitive(true);
                self.headers.append(HeaderName::from_static(name), value);
            }
            Err(_) => self.fail(Error::invalid_input(format!(
                "the credential for header {name} contains characters a header cannot carry"
            ))),
        }
        self
    }

    /// Adds `Authorization: Bearer <token>`, marked sensitive.
    pub fn bearer(self, token: &SecretString) -> Self {
        let value = SecretString::from(format!("Bearer {}", token.expose_secret()));
        self.secret_header(AUTHORIZATION.as_str(), &value)
    }

    /// Sets a JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => self.body = Some((Bytes::from(bytes), "application/json; charset=utf-8")),
            Err(e) => self.fail(Error::invalid_input(format!(
                "could not encode the request body: {e}"
            ))),
        }
        self
    }

    /// Sets an `application/x-www-form-urlencoded` body.
    pub fn form<'a>(mut self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs {
            serializer.append_pair(name, value);
        }
        self.body = Some((
            Bytes::from(serializer.finish()),
            "application/x-www-form-urlencoded",
        ));
        self
    }

    /// The pacing class. A class the client does not pace is a mistake in the
    /// adapter: the request fails (`InvalidInput`) instead of going out unpaced.
    pub fn class(mut self, class: PaceClass) -> Self {
        if self.client.pacer().rate(class).is_none() {
            let why = format!("calls of class {class} have no pace configured");
            self.fail(Error::new(ErrorKind::InvalidInput, why));
        }
        self.class = Some(class);
        self
    }

    /// Whether sending twice is harmless. Defaults to true except for POST and PATCH.
    /// A non-idempotent request is retried only when it surely did not take effect.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    pub(super) fn fail(&mut self, error: Error) {
        self.error.get_or_insert(error);
    }

    pub(super) fn url(&self) -> Result<Url> {
        let mut params = self.params.iter();
        let mut segments = Vec::new();
        for part in self.route.split('/').filter(|s| !s.is_empty()) {
            if part.starts_with('{') && part.ends_with('}') {
                let value = params.next().ok_or_else(|| {
                    Error::invalid_input(format!("route {} lacks a value for {part}", self.route))
                })?;
                segments.push(value.as_str());
            } else {
                segments.push(part);
            }
        }
        if params.next().is_some() {
            return Err(Error::invalid_input(format!(
                "route {} got too many values",
                self.route
            )));
        }
        let mut url = join_segments(self.client.base_url(), segments)?;
        if !self.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(self.query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        Ok(url)
    }
}
