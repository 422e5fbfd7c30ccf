//! Who is calling: the partner of a bearer token, of an xAPI Basic-auth
//! password (its user must be that partner's id), or of a client
//! certificate. The header wins over the certificate; a header that names
//! no known credential is refused, never passed over for the certificate.

use crate::credentials::Credentials;
use base64::Engine;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error(
        "a partner credential is required: \"authorization: Bearer <token>\" (xAPI: Basic auth, user the \
         partner id, password its token), or a client certificate over mutual TLS"
    )]
    Missing,
    #[error("expected \"authorization: Bearer <token>\" or \"Basic <base64 of partner:token>\"")]
    Malformed,
    #[error("unknown partner credential")]
    Unknown,
    #[error("the Basic-auth user {0:?} is not the partner of this password")]
    WrongUser(String),
}

/// The partner of a call, from its `authorization` header or its client
/// certificate (DER, the leaf of the chain).
pub fn partner_of(
    credentials: &Credentials,
    authorization: Option<&str>,
    certificate: Option<&[u8]>,
) -> Result<String, AuthError> {
    let Some(header) = authorization else {
        let certificate = certificate.ok_or(AuthError::Missing)?;
        return credentials.partner_of_certificate(certificate).map(str::to_string).ok_or(AuthError::Unknown);
    };
    let (scheme, value) = header.split_once(' ').ok_or(AuthError::Malformed)?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return credentials.partner_of_token(value).map(str::to_string).ok_or(AuthError::Unknown);
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(AuthError::Malformed);
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(value.trim()).map_err(|_| AuthError::Malformed)?;
    let decoded = String::from_utf8(decoded).map_err(|_| AuthError::Malformed)?;
    let (user, password) = decoded.split_once(':').ok_or(AuthError::Malformed)?;
    let partner = credentials.partner_of_token(password).ok_or(AuthError::Unknown)?;
    if user != partner {
        return Err(AuthError::WrongUser(user.to_string()));
    }
    Ok(partner.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "tok-0123456789abcdef";

    fn credentials() -> Credentials {
        let der = b"leaf certificate";
        let text = format!(
            "partner:gen-lyon {TOKEN}\npartner:fun-mooc cert-sha256:{}\n",
            hex::encode(crate::credentials::fingerprint(der))
        );
        Credentials::parse(&text).unwrap()
    }

    fn basic(user: &str, password: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
    }

    #[test]
    fn bearer_basic_and_certificate() {
        let credentials = credentials();
        let bearer = format!("Bearer {TOKEN}");
        assert_eq!(partner_of(&credentials, Some(&bearer), None).unwrap(), "gen-lyon");
        assert_eq!(partner_of(&credentials, Some(&basic("gen-lyon", TOKEN)), None).unwrap(), "gen-lyon");
        assert_eq!(partner_of(&credentials, None, Some(b"leaf certificate")).unwrap(), "fun-mooc");
    }

    #[test]
    fn wrong_or_missing_credentials_are_refused() {
        let credentials = credentials();
        assert_eq!(partner_of(&credentials, None, None), Err(AuthError::Missing));
        assert_eq!(partner_of(&credentials, Some("Bearer nope-nope-nope-nope"), None), Err(AuthError::Unknown));
        assert_eq!(
            partner_of(&credentials, Some(&basic("fun-mooc", TOKEN)), None),
            Err(AuthError::WrongUser("fun-mooc".into())),
            "a partner's token does not let it publish as another"
        );
        assert_eq!(partner_of(&credentials, Some("Token x"), None), Err(AuthError::Malformed));
        assert_eq!(partner_of(&credentials, Some("Basic !!!"), None), Err(AuthError::Malformed));
        // A bad header is not passed over for a good certificate.
        assert_eq!(
            partner_of(&credentials, Some("Bearer unknown-unknown-1234"), Some(b"leaf certificate")),
            Err(AuthError::Unknown)
        );
        assert_eq!(partner_of(&credentials, None, Some(b"unknown certificate")), Err(AuthError::Unknown));
    }
}
