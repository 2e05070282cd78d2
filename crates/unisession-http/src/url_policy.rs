//! Base-URL policy and safe path building.

use std::net::IpAddr;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use unisession_core::{Error, ErrorKind};
use url::{Host, Url};

/// Validates a provider's base URL.
///
/// * `https` is required. `http` is accepted for loopback hosts (`127.0.0.0/8`,
///   `::1`, `localhost`), or anywhere when `allow_http` is set.
/// * No user name or password, query or fragment: they would leak or be dropped.
///
/// The returned URL's path ends with `/`, so request paths are appended below it.
pub fn validate_base_url(raw: &str, allow_http: bool) -> Result<Url, Error> {
    let invalid = |why: String| Error::new(ErrorKind::InvalidInput, why);
    let mut url =
        Url::parse(raw.trim()).map_err(|e| invalid(format!("invalid base URL {raw:?}: {e}")))?;
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(invalid(format!("base URL {raw:?} has no host")));
    }
    match url.scheme() {
        "https" => {}
        "http" if allow_http || is_loopback(&url) => {}
        "http" => {
            return Err(invalid(format!(
                "refusing http:// to the non-loopback host {}: credentials would cross the network in clear text; use https, or allow insecure http explicitly",
                url.host_str().unwrap_or_default()
            )));
        }
        other => {
            return Err(invalid(format!(
                "unsupported URL scheme {other:?}: use https"
            )));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "the base URL must not carry a user name or password; configure the credential separately"
                .to_owned(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "the base URL must not have a query or fragment".to_owned(),
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Whether the URL's host is a loopback address or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        None => false,
    }
}

/// Whether two URLs share scheme, host and port.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Checks that an id can travel as exactly one path segment. Every character is
/// percent-encoded as needed, but `""`, `"."` and `".."` cannot be expressed as a
/// segment of their own: URL normalisation would drop them or climb a level.
pub fn check_segment(segment: &str) -> Result<(), Error> {
    match segment {
        "" => Err(Error::invalid_input("an empty id cannot be sent")),
        "." | ".." => Err(Error::invalid_input(format!(
            "the id {segment:?} cannot be sent as a path segment"
        ))),
        _ => Ok(()),
    }
}

/// Characters left as they are in a path segment: RFC 3986 "unreserved". Everything
/// else is percent-encoded, so no character can act as a separator, start a query or
/// fragment, or be dropped by URL normalisation (which strips tabs and newlines).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Appends `segments` below `base` (whose path ends with `/`), each percent-encoded
/// as exactly one segment.
pub(crate) fn join_segments<'a>(
    base: &Url,
    segments: impl IntoIterator<Item = &'a str>,
) -> Result<Url, Error> {
    let mut path = base.path().to_owned();
    for (i, segment) in segments.into_iter().enumerate() {
        check_segment(segment)?;
        if i > 0 {
            path.push('/');
        }
        path.extend(utf8_percent_encode(segment, SEGMENT));
    }
    let mut url = base.clone();
    url.set_path(&path);
    if url.path() != path {
        return Err(Error::invalid_input(
            "the request path would change when sent; refusing it",
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        assert!(validate_base_url("https://chat.example.com", false).is_ok());
        assert!(validate_base_url("http://127.0.0.1:3000", false).is_ok());
        assert!(validate_base_url("http://127.9.9.9", false).is_ok());
        assert!(validate_base_url("http://[::1]:8080/", false).is_ok());
        assert!(validate_base_url("http://localhost:8080", false).is_ok());
        let err = validate_base_url("http://chat.example.com", false).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().contains("clear text"), "{err}");
        assert!(validate_base_url("http://chat.example.com", true).is_ok());
        assert!(validate_base_url("http://localhost.evil.example", false).is_err());
        assert!(validate_base_url("ftp://files.example.com", false).is_err());
        assert!(validate_base_url("not a url", false).is_err());
    }

    #[test]
    fn credentials_query_and_fragment_are_refused() {
        assert!(validate_base_url("https://user:pw@chat.example.com", false).is_err());
        assert!(validate_base_url("https://chat.example.com/?token=x", false).is_err());
        assert!(validate_base_url("https://chat.example.com/#x", false).is_err());
    }

    #[test]
    fn base_path_prefix_is_kept() {
        let base = validate_base_url("https://example.com/rocket", false).unwrap();
        let url = join_segments(&base, ["api", "v1", "login"]).unwrap();
        assert_eq!(url.as_str(), "https://example.com/rocket/api/v1/login");
    }

    #[test]
    fn hostile_segments_are_encoded_as_one_segment() {
        let base = validate_base_url("https://example.com/", false).unwrap();
        for (id, encoded) in [
            ("../admin", "..%2Fadmin"),
            ("a/b", "a%2Fb"),
            ("a%2Fb", "a%252Fb"),
            ("a?b=c", "a%3Fb%3Dc"),
            ("a#b", "a%23b"),
            ("a b", "a%20b"),
            ("a\r\nb", "a%0D%0Ab"),
            ("é", "%C3%A9"),
            ("a\\b", "a%5Cb"),
            ("a\tb", "a%09b"),
            ("%2e%2e", "%252e%252e"),
            ("U0123-ab_c.d~e", "U0123-ab_c.d~e"),
        ] {
            let url = join_segments(&base, ["x", id]).unwrap();
            assert_eq!(url.path(), format!("/x/{encoded}"), "{id:?}");
        }
        for bad in ["", ".", ".."] {
            assert_eq!(
                join_segments(&base, ["x", bad]).unwrap_err().kind(),
                ErrorKind::InvalidInput
            );
        }
    }
}
