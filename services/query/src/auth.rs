//! Bearer tokens to audiences. A token maps to a scope: `policy` (sees
//! everything), `partner:<id>` or `public` (small cells suppressed).

use crate::error::{QueryError, UNKNOWN_TOKEN};
use skills_domain::indicators::Audience;
use std::collections::HashMap;
use std::path::Path;
use tonic::metadata::MetadataMap;

#[derive(Debug, Clone, Default)]
pub struct Authorizer {
    tokens: HashMap<String, Audience>,
    anonymous: Option<Audience>,
}

pub fn parse_scope(scope: &str) -> Result<Audience, String> {
    match scope.trim() {
        "policy" => Ok(Audience::Policy),
        "public" => Ok(Audience::Public),
        other => match other.strip_prefix("partner:") {
            Some(id) if !id.is_empty() => Ok(Audience::Partner(id.to_string())),
            _ => Err(format!("unknown scope {other:?} (expected policy, public or partner:<id>)")),
        },
    }
}

/// How a scope is written in token files and error messages.
pub fn scope_name(audience: &Audience) -> String {
    match audience {
        Audience::Policy => "policy".into(),
        Audience::Public => "public".into(),
        Audience::Partner(id) => format!("partner:{id}"),
    }
}

impl Authorizer {
    pub fn new(anonymous_scope: Option<&str>) -> Result<Self, String> {
        let anonymous = anonymous_scope.map(parse_scope).transpose()?;
        Ok(Authorizer { tokens: HashMap::new(), anonymous })
    }

    pub fn add_token(&mut self, token: impl Into<String>, audience: Audience) {
        self.tokens.insert(token.into(), audience);
    }

    /// Reads "<scope> <token>" lines; blank lines and `#` comments skipped.
    pub fn add_tokens_file(&mut self, path: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (scope, token) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| format!("{} line {}: expected \"<scope> <token>\"", path.display(), number + 1))?;
            let audience = parse_scope(scope).map_err(|e| format!("{} line {}: {e}", path.display(), number + 1))?;
            self.add_token(token.trim(), audience);
        }
        Ok(())
    }

    pub fn audience(&self, metadata: &MetadataMap) -> Result<Audience, QueryError> {
        self.identify(metadata).map(|caller| caller.audience)
    }

    /// Who calls: the token's audience and the token, or the anonymous
    /// audience. Exactly one `authorization` header of the form
    /// `Bearer <token>`, the token with no surrounding whitespace: anything
    /// else is refused rather than guessed at.
    pub fn identify(&self, metadata: &MetadataMap) -> Result<Identity, QueryError> {
        let mut values = metadata.get_all("authorization").iter();
        let Some(value) = values.next() else {
            let audience = self.anonymous.clone().ok_or(QueryError::Unauthenticated(UNKNOWN_TOKEN))?;
            return Ok(Identity { audience, token: None });
        };
        if values.next().is_some() {
            return Err(QueryError::Unauthenticated("more than one authorization header"));
        }
        let value = value.to_str().map_err(|_| QueryError::Unauthenticated(UNKNOWN_TOKEN))?;
        let token = match value.split_at_checked(7) {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer ") => token,
            _ => return Err(QueryError::Unauthenticated("expected an authorization header \"Bearer <token>\"")),
        };
        if token.is_empty() || token.trim() != token {
            return Err(QueryError::Unauthenticated("a bearer token has no surrounding whitespace"));
        }
        let audience = self.tokens.get(token).cloned().ok_or(QueryError::Unauthenticated(UNKNOWN_TOKEN))?;
        Ok(Identity { audience, token: Some(token.to_string()) })
    }
}

/// A caller as authenticated: its audience, and its token (none for an
/// anonymous caller), which limits are counted by.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    pub audience: Audience,
    pub token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(value: Option<&str>) -> MetadataMap {
        let mut map = MetadataMap::new();
        if let Some(value) = value {
            map.insert("authorization", value.parse().unwrap());
        }
        map
    }

    #[test]
    fn tokens_map_to_audiences() {
        let mut auth = Authorizer::new(Some("public")).unwrap();
        auth.add_token("t-policy", Audience::Policy);
        auth.add_token("t-partner", Audience::Partner("gen".into()));
        assert_eq!(auth.audience(&metadata(Some("Bearer t-policy"))).unwrap(), Audience::Policy);
        assert_eq!(auth.audience(&metadata(Some("Bearer t-partner"))).unwrap(), Audience::Partner("gen".into()));
        assert_eq!(auth.audience(&metadata(None)).unwrap(), Audience::Public);
        assert_eq!(auth.audience(&metadata(Some("bearer t-policy"))).unwrap(), Audience::Policy);
        for refused in
            ["Bearer wrong", "Basic abc", "Bearer  t-policy", "Bearer t-policy ", "Bearer ", "Bearer\tt-policy"]
        {
            assert!(
                matches!(auth.audience(&metadata(Some(refused))), Err(QueryError::Unauthenticated(_))),
                "{refused:?}"
            );
        }
        let strict = Authorizer::new(None).unwrap();
        assert!(matches!(strict.audience(&metadata(None)), Err(QueryError::Unauthenticated(_))));
    }

    #[test]
    fn two_authorization_headers_are_refused() {
        let mut auth = Authorizer::new(Some("public")).unwrap();
        auth.add_token("t-policy", Audience::Policy);
        let mut map = metadata(Some("Bearer wrong"));
        map.append("authorization", "Bearer t-policy".parse().unwrap());
        let error = auth.audience(&map).unwrap_err();
        assert!(error.to_string().contains("more than one"), "{error}");
        let one = auth.identify(&metadata(Some("Bearer t-policy"))).unwrap();
        assert_eq!(one.token.as_deref(), Some("t-policy"));
        assert_eq!(auth.identify(&metadata(None)).unwrap().token, None);
    }

    #[test]
    fn scope_names_read_back() {
        for scope in ["policy", "public", "partner:p1"] {
            assert_eq!(scope_name(&parse_scope(scope).unwrap()), scope);
        }
    }

    #[test]
    fn scopes_and_token_files_are_checked() {
        assert!(parse_scope("admin").unwrap_err().contains("admin"));
        assert!(parse_scope("partner:").is_err());
        let dir = std::env::temp_dir().join(format!("skills-tokens-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("tokens");
        std::fs::write(&file, "# comment\npolicy abc\n\npartner:p1 def\n").unwrap();
        let mut auth = Authorizer::new(None).unwrap();
        auth.add_tokens_file(&file).unwrap();
        assert_eq!(auth.audience(&metadata(Some("Bearer def"))).unwrap(), Audience::Partner("p1".into()));
        std::fs::write(&file, "root abc\n").unwrap();
        assert!(auth.add_tokens_file(&file).unwrap_err().contains("line 1"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
