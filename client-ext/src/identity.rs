//! Who the client is: the workspace identity (SCIM `Me`) and the Postgres user name its
//! database credentials log in as.
//!
//! A database credential is a password for the identity it was issued to, so the Postgres
//! user is that identity's name: a user's email, a service principal's application (client)
//! id. [`Client::postgres_user`] resolves it the way the official drivers do:
//!
//! 1. the user given explicitly;
//! 2. `PGUSER`;
//! 3. the OAuth client id, when the client authenticates as a service principal (OAuth M2M);
//! 4. `userName` of `GET /api/2.0/preview/scim/v2/Me`, fetched once per client and cached.

use serde::Deserialize;
use tokio::sync::OnceCell;

use crate::Client;
use crate::config::{Env, OsEnv};
use crate::error::{Error, InvalidInput};

/// Path of the SCIM `Me` call.
pub const SCIM_ME_PATH: &str = "/api/2.0/preview/scim/v2/Me";

/// The calling identity, as SCIM `Me` describes it. Unknown fields are ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CurrentUser {
    /// The workspace's id of the identity.
    pub id: Option<String>,
    /// The user name: an email for users, the application id for service principals.
    pub user_name: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Whether the identity is active.
    pub active: Option<bool>,
    /// Email addresses.
    pub emails: Vec<ScimEmail>,
}

/// One email address of a [`CurrentUser`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ScimEmail {
    /// The address.
    pub value: Option<String>,
    /// Whether it is the primary address.
    pub primary: Option<bool>,
}

/// Per-client facts about the identity: the OAuth client id (if any) and the cached `Me`.
#[derive(Debug, Default)]
pub(crate) struct Identity {
    client_id: Option<String>,
    me: OnceCell<CurrentUser>,
}

impl Identity {
    pub(crate) fn new(client_id: Option<&str>) -> Self {
        Identity {
            client_id: client_id.map(str::to_owned),
            me: OnceCell::new(),
        }
    }
}

impl Client {
    /// The calling identity (`GET /api/2.0/preview/scim/v2/Me`). Fetched on first use, then
    /// cached for the life of the client (and its clones); concurrent first calls share one
    /// request. A failed call is not cached.
    pub async fn current_user(&self) -> Result<CurrentUser, Error> {
        let me = self
            .identity()
            .me
            .get_or_try_init(|| self.get_typed::<CurrentUser>("CurrentUser", "GetCurrentUser", SCIM_ME_PATH))
            .await?;
        Ok(me.clone())
    }

    /// The Postgres user name database credentials of this client log in as: `explicit`, else
    /// `PGUSER`, else the OAuth M2M client id, else the `userName` of [`current_user`](Self::current_user).
    pub async fn postgres_user(&self, explicit: Option<&str>) -> Result<String, Error> {
        self.postgres_user_from(explicit, &OsEnv).await
    }

    /// Like [`postgres_user`](Self::postgres_user), reading `PGUSER` from `env`.
    pub async fn postgres_user_from(&self, explicit: Option<&str>, env: &dyn Env) -> Result<String, Error> {
        if let Some(user) = explicit {
            if user.is_empty() {
                return Err(Error::InvalidInput(InvalidInput::new("user", "must not be empty")));
            }
            return Ok(user.to_owned());
        }
        if let Some(user) = env.var("PGUSER") {
            return Ok(user);
        }
        if let Some(client_id) = &self.identity().client_id {
            return Ok(client_id.clone());
        }
        self.current_user()
            .await?
            .user_name
            .filter(|name| !name.is_empty())
            .ok_or_else(|| Error::Decode {
                what: "CurrentUser".to_owned(),
                message: "the SCIM Me response has no userName".to_owned(),
                body_snippet: String::new(),
                source: None,
            })
    }
}
