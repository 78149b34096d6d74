//! One typed call per operation of the API, grouped by resource.
//!
//! Calls without optional parameters are plain `async fn`s on [`Client`]. Calls with
//! optional parameters return a request builder: set the options, then `.await` it (every
//! builder implements `IntoFuture`). Lists return a [`List`] builder that becomes a
//! lazy [`Pager`](crate::Pager).

use std::sync::Arc;

use lakebase_generated::RequiredFields;

use crate::error::{Error, InvalidInput};
use crate::pagination::{FetchPage, ListPage, Pager};

mod branches;
mod catalogs;
mod cdf;
mod credentials;
mod data_api;
mod databases;
mod endpoints;
mod operations;
mod projects;
mod roles;
mod snapshots;
mod synced_tables;

pub use branches::{CreateBranch, DeleteBranch};
pub use cdf::{CreateCdfConfig, DeleteCdfConfig};
pub use credentials::GenerateDatabaseCredential;
pub use databases::CreateDatabase;
pub use endpoints::CreateEndpoint;
pub use projects::DeleteProject;
pub use roles::{CreateRole, DeleteRole};

/// Implements `IntoFuture` for a request builder with an `async fn send(self)`.
macro_rules! into_future {
    ($builder:ident => $output:ty) => {
        impl<'c> ::std::future::IntoFuture for $builder<'c> {
            type Output = Result<$output, crate::Error>;
            type IntoFuture = ::std::pin::Pin<Box<dyn ::std::future::Future<Output = Self::Output> + Send + 'c>>;
            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    };
}
pub(crate) use into_future;

/// Fails with [`Error::InvalidInput`] when `message` misses fields the API requires.
pub(crate) fn check_required<T: RequiredFields>(what: &str, message: &T) -> Result<(), Error> {
    let missing = message.missing_required_fields();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidInput(InvalidInput::new(
            what,
            format!("missing required fields: {}", missing.join(", ")),
        )))
    }
}

/// The query of a list call, as set on its [`List`] builder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListQuery {
    pub(crate) page_size: Option<i32>,
    pub(crate) show_deleted: Option<bool>,
}

/// Fetches one page given the query and a page token.
pub(crate) type ListFetch<T> = Arc<
    dyn Fn(
            ListQuery,
            Option<String>,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<ListPage<T>, Error>> + Send>>
        + Send
        + Sync,
>;

/// A list call: set `page_size`, `page_token` (and `show_deleted` where the API has
/// it), then consume it as items, pages or a `Vec`.
///
/// Nothing is sent until a stream is polled or [`collect_all`](Self::collect_all) is
/// awaited. Without `page_size` the server picks the page size, as the official SDKs do.
#[must_use = "a list does nothing until consumed"]
pub struct List<T, const SHOW_DELETED: bool = false> {
    fetch: ListFetch<T>,
    query: ListQuery,
    page_size: Option<u32>,
    page_token: Option<String>,
}

impl<T, const D: bool> std::fmt::Debug for List<T, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("List")
            .field("page_size", &self.page_size)
            .field("page_token", &self.page_token)
            .field("show_deleted", &self.query.show_deleted)
            .finish()
    }
}

impl<T: Send + 'static, const D: bool> List<T, D> {
    pub(crate) fn new(fetch: ListFetch<T>) -> Self {
        List {
            fetch,
            query: ListQuery::default(),
            page_size: None,
            page_token: None,
        }
    }

    /// Largest number of items per page (the server may return fewer).
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = Some(page_size);
        self
    }

    /// Starts at this page token (a `next_page_token` from an earlier listing).
    pub fn page_token(mut self, page_token: impl Into<String>) -> Self {
        self.page_token = Some(page_token.into());
        self
    }

    /// The lazy pager over this listing.
    pub fn pager(self) -> Pager<T> {
        let mut query = self.query;
        let page_size = self.page_size.map(i32::try_from);
        let fetch = self.fetch;
        let page_fetch: FetchPage<T> = match page_size {
            Some(Err(_)) => Arc::new(|_| {
                Box::pin(async {
                    Err(Error::InvalidInput(InvalidInput::new(
                        "page_size",
                        format!("must be at most {}", i32::MAX),
                    )))
                })
            }),
            Some(Ok(size)) => {
                query.page_size = Some(size);
                Arc::new(move |token| fetch(query.clone(), token))
            }
            None => Arc::new(move |token| fetch(query.clone(), token)),
        };
        Pager::new(page_fetch, self.page_token)
    }

    /// The items of every page, fetched lazily. See [`Pager::items`].
    pub fn items(self) -> impl futures::Stream<Item = Result<T, Error>> + Send + 'static {
        self.pager().items()
    }

    /// The pages, fetched lazily. See [`Pager::pages`].
    pub fn pages(self) -> impl futures::Stream<Item = Result<ListPage<T>, Error>> + Send + 'static {
        self.pager().pages()
    }

    /// All items of all pages.
    pub async fn collect_all(self) -> Result<Vec<T>, Error> {
        self.pager().collect_all().await
    }
}

impl<T: Send + 'static> List<T, true> {
    /// Also list soft-deleted resources.
    pub fn show_deleted(mut self, show_deleted: bool) -> Self {
        self.query.show_deleted = Some(show_deleted);
        self
    }
}

/// Builds a [`ListFetch`] from a closure calling the generated list method.
macro_rules! list_fetch {
    ($client:expr, $page:ident, [$($capture:ident),*], |$raw:ident, $query:ident, $token:ident| $call:expr) => {{
        let client = $client.clone();
        let fetch: crate::resources::ListFetch<_> = ::std::sync::Arc::new(move |$query: crate::resources::ListQuery, $token: Option<String>| {
            let client = client.clone();
            $(let $capture = $capture.clone();)*
            Box::pin(async move {
                let $raw = client.raw();
                let $token = $token.as_deref();
                let page: crate::types::$page = crate::call::run(stringify!($page), $call).await?;
                let next_page_token = <crate::types::$page as lakebase_generated::Page>::next_page_token(&page).map(str::to_string);
                Ok(crate::pagination::ListPage { items: lakebase_generated::Page::into_items(page), next_page_token })
            })
        });
        fetch
    }};
}
pub(crate) use list_fetch;
