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

use lakebase_generated::ClientInfo;

use crate::Client;
use crate::call::{api_error, with_auth_context, with_budget};
use crate::config::{Env, OsEnv};
use crate::error::{AuthError, Error, InvalidInput, TransportError, body_snippet};
use crate::transport::CallRecord;

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
            .get_or_try_init(|| get_json::<CurrentUser>(self, "CurrentUser", "GetCurrentUser", SCIM_ME_PATH))
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

/// `GET {host}{path}` through the client's executor (authentication, retries, tracing), decoded
/// as `T`. For the few workspace calls outside the Postgres API spec.
async fn get_json<T: serde::de::DeserializeOwned>(
    client: &Client,
    what: &'static str,
    operation_id: &'static str,
    path: &str,
) -> Result<T, Error> {
    let raw = client.raw();
    let http = raw.client();
    let mut request = http
        .get(format!("{}{path}", raw.baseurl()))
        .header(http::header::ACCEPT, "application/json")
        .build()
        .map_err(|e| Error::InvalidInput(InvalidInput::new("request", e.to_string())))?;
    let send = async {
        let Some(executor) = raw.inner().executor() else {
            return Err(None);
        };
        executor.prepare(&mut request, operation_id).await.map_err(Some)?;
        Ok(executor.execute(http, request, operation_id).await)
    };
    let (outcome, mut summary) = CallRecord::scope(send).await;
    let response = match outcome {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => return Err(Error::Transport(TransportError::from(error))),
        Err(message) => {
            let message = message.unwrap_or_else(|| "the client has no request executor".to_owned());
            return Err(summary
                .auth_error
                .take()
                .unwrap_or_else(|| Error::Auth(AuthError::new(message))));
        }
    };
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .map_err(|e| Error::Transport(TransportError::from(e)))?;
    if !status.is_success() {
        let error = api_error(status, &headers, &body);
        return Err(with_budget(with_auth_context(error, &mut summary), summary));
    }
    serde_json::from_slice(&body).map_err(|e| Error::Decode {
        what: what.to_owned(),
        message: e.to_string(),
        body_snippet: body_snippet(&body),
        source: Some(Box::new(e)),
    })
}
