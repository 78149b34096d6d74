//! Short-lived Postgres credentials.

use chrono::{DateTime, Utc};

use crate::call::run;
use crate::resources::into_future;
use crate::{Client, EndpointName, Error, types};

impl Client {
    /// Generates an OAuth token to log in to the Postgres of `endpoint` as the calling
    /// identity. Optionally restrict it with `.claims(..)` and set its lifetime with
    /// `.ttl(..)` (300 s – 1 h) or `.expire_time(..)`.
    pub fn generate_database_credential(&self, endpoint: &EndpointName) -> GenerateDatabaseCredential<'_> {
        GenerateDatabaseCredential {
            client: self,
            request: types::GenerateDatabaseCredentialRequest {
                endpoint: Some(endpoint.to_string()),
                ..Default::default()
            },
        }
    }
}

/// Request builder of [`Client::generate_database_credential`].
#[must_use = "a request builder does nothing until awaited"]
#[derive(Debug)]
pub struct GenerateDatabaseCredential<'c> {
    client: &'c Client,
    request: types::GenerateDatabaseCredentialRequest,
}

impl GenerateDatabaseCredential<'_> {
    /// Restrict the token to these permissions. The list is sent as given, even empty (`[]`),
    /// as the official SDK does.
    pub fn claims(mut self, claims: Vec<types::RequestedClaims>) -> Self {
        self.request.claims = Some(claims);
        self
    }

    /// Lifetime of the token.
    pub fn ttl(mut self, ttl: impl Into<lakebase_generated::Duration>) -> Self {
        self.request.ttl = Some(ttl.into());
        self
    }

    /// When the token expires.
    pub fn expire_time(mut self, expire_time: DateTime<Utc>) -> Self {
        self.request.expire_time = Some(expire_time);
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<types::DatabaseCredential, Error> {
        run(
            "DatabaseCredential",
            self.client.raw().generate_database_credential(&self.request),
        )
        .await
    }
}

into_future!(GenerateDatabaseCredential => types::DatabaseCredential);
