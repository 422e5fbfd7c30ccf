//! The parts of an xAPI statement (1.0.3 and 2.0.0) that the mapping
//! reads, and the checks a learning record store makes before it stores
//! one: an id that is a UUID, an actor with one identifier, a verb IRI, an
//! object. Everything else is kept as it came, in the raw topic.

use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Deserialize)]
pub struct Statement {
    pub id: Option<String>,
    pub actor: Agent,
    pub verb: Verb,
    pub object: Activity,
    #[serde(default)]
    pub result: Option<StatementResult>,
    #[serde(default)]
    pub context: Option<Context>,
    pub timestamp: Option<String>,
    /// Set by the store when it accepts the statement.
    pub stored: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Agent {
    pub mbox: Option<String>,
    pub mbox_sha1sum: Option<String>,
    pub openid: Option<String>,
    pub account: Option<Account>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    #[serde(rename = "homePage")]
    pub home_page: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Verb {
    pub id: String,
}

/// The statement's object. Only activities map to events; other object
/// types (agents, sub-statements) parse with no id and map to nothing.
#[derive(Debug, Clone, Deserialize)]
pub struct Activity {
    #[serde(rename = "objectType")]
    pub object_type: Option<String>,
    pub id: Option<String>,
    #[serde(default)]
    pub definition: Option<ActivityDefinition>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ActivityDefinition {
    #[serde(default)]
    pub extensions: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StatementResult {
    #[serde(default)]
    pub score: Option<Score>,
    #[serde(default)]
    pub extensions: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Score {
    pub scaled: Option<f64>,
    pub raw: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Context {
    #[serde(default)]
    pub extensions: Option<Map<String, Value>>,
}

/// Why a statement cannot be stored at all (a 400 from the store).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidStatement(pub String);

impl Statement {
    /// Parses and checks one statement as a learning record store does.
    pub fn parse(value: &Value) -> Result<Statement, InvalidStatement> {
        if !value.is_object() {
            return Err(InvalidStatement("a statement is a JSON object".into()));
        }
        // Tracking the path slows every parse: only bad input, parsed a
        // second time, pays for it, to name where the problem is.
        let statement = match Statement::deserialize(value) {
            Ok(statement) => statement,
            Err(_) => serde_path_to_error::deserialize(value)
                .map_err(|error| InvalidStatement(format!("{}: {}", error.path(), error.inner())))?,
        };
        if let Some(id) = &statement.id
            && uuid::Uuid::parse_str(id).is_err()
        {
            return Err(InvalidStatement(format!("id {id:?} is not a UUID")));
        }
        let identifiers = [
            statement.actor.mbox.is_some(),
            statement.actor.mbox_sha1sum.is_some(),
            statement.actor.openid.is_some(),
            statement.actor.account.is_some(),
        ];
        match identifiers.iter().filter(|present| **present).count() {
            1 => {}
            0 => {
                return Err(InvalidStatement("actor has no identifier (mbox, mbox_sha1sum, openid or account)".into()));
            }
            _ => return Err(InvalidStatement("actor has more than one identifier".into())),
        }
        if !is_iri(&statement.verb.id) {
            return Err(InvalidStatement(format!("verb.id {:?} is not an IRI", statement.verb.id)));
        }
        if let Some(timestamp) = &statement.timestamp
            && chrono::DateTime::parse_from_rfc3339(timestamp).is_err()
        {
            return Err(InvalidStatement(format!("timestamp {timestamp:?} is not an ISO 8601 date-time")));
        }
        Ok(statement)
    }

    /// The learner as the platform identifies it: the account name, or the
    /// mailbox, its hash or the OpenID. Pseudonymised at ingestion like
    /// every learner id.
    pub fn learner_id(&self) -> String {
        let actor = &self.actor;
        match (&actor.account, &actor.mbox, &actor.mbox_sha1sum, &actor.openid) {
            (Some(account), ..) => account.name.clone(),
            (None, Some(mbox), ..) => mbox.clone(),
            (None, None, Some(hash), _) => hash.clone(),
            (None, None, None, Some(openid)) => openid.clone(),
            (None, None, None, None) => String::new(),
        }
    }

    /// An extension by its key, looked up in the result, then the context,
    /// then the activity's definition.
    pub fn extension(&self, key: &str) -> Option<&Value> {
        let result = self.result.as_ref().and_then(|result| result.extensions.as_ref());
        let context = self.context.as_ref().and_then(|context| context.extensions.as_ref());
        let activity = self.object.definition.as_ref().and_then(|definition| definition.extensions.as_ref());
        [result, context, activity].into_iter().flatten().find_map(|extensions| extensions.get(key))
    }
}

/// An absolute IRI: a scheme, a colon, something after it.
fn is_iri(text: &str) -> bool {
    match text.split_once(':') {
        Some((scheme, rest)) => {
            !rest.is_empty()
                && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }
        None => false,
    }
}
