//! Lazy pagination over list operations.
//!
//! A [`Pager`] re-sends the original request with only `page_token` changed, stops when
//! the server's `next_page_token` is missing or empty (never on an empty page), fails
//! with [`Error::Pagination`] when the server hands out a token it already gave, and
//! fetches a page only when the consumer asks for it, so memory stays flat however many
//! items there are.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::stream::{self, Stream, StreamExt, TryStreamExt};

use lakebase_generated::Page;

use crate::error::{Error, InvalidInput};

/// The [`Pager`] of a generated list builder: `fetch` gets the page size (checked to fit
/// the wire's `int32`) and the page token, and is called once per page.
pub(crate) fn pager<T, F, Fut>(page_size: Option<u32>, page_token: Option<String>, fetch: F) -> Pager<T>
where
    T: Send + 'static,
    F: Fn(Option<i32>, Option<String>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ListPage<T>, Error>> + Send + 'static,
{
    let fetch: FetchPage<T> = match page_size.map(i32::try_from) {
        Some(Err(_)) => Arc::new(|_| {
            Box::pin(async {
                Err(Error::InvalidInput(InvalidInput::new(
                    "page_size",
                    format!("must be at most {}", i32::MAX),
                )))
            })
        }),
        Some(Ok(size)) => Arc::new(move |token| Box::pin(fetch(Some(size), token))),
        None => Arc::new(move |token| Box::pin(fetch(None, token))),
    };
    Pager::new(fetch, page_token)
}

/// A decoded page of the raw client as a [`ListPage`].
pub(crate) fn page_of<P: Page>(page: P) -> ListPage<P::Item> {
    let next_page_token = page.next_page_token().map(str::to_string);
    ListPage {
        items: page.into_items(),
        next_page_token,
    }
}

/// Fetches the page that starts at the given token (`None`: the first page).
pub(crate) type FetchPage<T> =
    Arc<dyn Fn(Option<String>) -> Pin<Box<dyn Future<Output = Result<ListPage<T>, Error>> + Send>> + Send + Sync>;

/// One page of a list: its items and the token of the next page.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage<T> {
    /// The items of this page (possibly none: an empty page does not end a listing).
    pub items: Vec<T>,
    /// Token of the next page; `None` on the last page. Pass it to `page_token` to
    /// resume a listing later.
    pub next_page_token: Option<String>,
}

/// A list call, ready to be consumed as items, pages, or a `Vec`.
///
/// Optional query parameters (`page_size`, `page_token`, `show_deleted`) are builder
/// methods on the pager returned by each `list_*` call.
///
/// ```no_run
/// # async fn demo(client: lakebase::Client) -> Result<(), lakebase::Error> {
/// use futures::TryStreamExt;
/// let mut projects = std::pin::pin!(client.list_projects().page_size(50).items());
/// while let Some(project) = projects.try_next().await? {
///     println!("{:?}", project.name);
/// }
/// # Ok(()) }
/// ```
#[must_use = "a pager does nothing until its items or pages are consumed"]
pub struct Pager<T> {
    fetch: FetchPage<T>,
    first_token: Option<String>,
}

impl<T> std::fmt::Debug for Pager<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pager")
            .field("first_token", &self.first_token)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> Pager<T> {
    pub(crate) fn new(fetch: FetchPage<T>, first_token: Option<String>) -> Self {
        Pager { fetch, first_token }
    }

    /// The pages, fetched one at a time as the stream is polled.
    pub fn pages(self) -> impl Stream<Item = Result<ListPage<T>, Error>> + Send + Unpin + 'static {
        struct State<T> {
            fetch: FetchPage<T>,
            next: Option<Option<String>>,
            seen: HashSet<String>,
        }
        let state = State {
            fetch: self.fetch,
            next: Some(self.first_token),
            seen: HashSet::new(),
        };
        Box::pin(stream::try_unfold(state, |mut state| async move {
            let Some(token) = state.next.take() else {
                return Ok(None);
            };
            let page = (state.fetch)(token).await?;
            match page.next_page_token.as_deref() {
                None | Some("") => state.next = None,
                Some(next) => {
                    if !state.seen.insert(next.to_string()) {
                        return Err(Error::Pagination(format!(
                            "the server returned the page token {next:?} twice; stopping instead of looping"
                        )));
                    }
                    state.next = Some(Some(next.to_string()));
                }
            }
            Ok(Some((page, state)))
        }))
    }

    /// The items of all pages, in order, fetched lazily.
    pub fn items(self) -> impl Stream<Item = Result<T, Error>> + Send + Unpin + 'static {
        self.pages()
            .map_ok(|page| stream::iter(page.items.into_iter().map(Ok)))
            .try_flatten()
    }

    /// Fetches every page and returns all items.
    pub async fn collect_all(self) -> Result<Vec<T>, Error> {
        self.items().try_collect().await
    }

    /// Fetches only the first page (the one at `page_token`, if set).
    pub async fn first_page(self) -> Result<ListPage<T>, Error> {
        let mut pages = std::pin::pin!(self.pages());
        match pages.next().await {
            Some(page) => page,
            None => Ok(ListPage {
                items: Vec::new(),
                next_page_token: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// The page tokens a scripted fetcher was called with.
    type Calls = Arc<Mutex<Vec<Option<String>>>>;

    /// A scripted fetcher: page `i` answers `script[i]` and records the token it got.
    fn scripted(script: Vec<(Vec<u32>, Option<&'static str>)>) -> (Pager<u32>, Calls) {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let recorded = calls.clone();
        let script = Arc::new(script);
        let fetch: FetchPage<u32> = Arc::new(move |token| {
            let calls = calls.clone();
            let script = script.clone();
            Box::pin(async move {
                let mut calls = calls.lock().unwrap();
                calls.push(token);
                let (items, next) = script
                    .get(calls.len() - 1)
                    .cloned()
                    .ok_or(Error::Pagination("script over".into()))?;
                Ok(ListPage {
                    items,
                    next_page_token: next.map(str::to_string),
                })
            })
        });
        (Pager::new(fetch, None), recorded)
    }

    #[tokio::test]
    async fn walks_pages_through_an_empty_middle_page() {
        let (pager, calls) = scripted(vec![(vec![1, 2], Some("a")), (vec![], Some("b")), (vec![3], None)]);
        assert_eq!(pager.collect_all().await.unwrap(), vec![1, 2, 3]);
        assert_eq!(*calls.lock().unwrap(), vec![None, Some("a".into()), Some("b".into())]);
    }

    #[tokio::test]
    async fn empty_token_ends_the_listing() {
        let (pager, calls) = scripted(vec![(vec![1], Some(""))]);
        assert_eq!(pager.collect_all().await.unwrap(), vec![1]);
        assert_eq!(calls.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_repeated_token_is_an_error() {
        let (pager, _) = scripted(vec![(vec![1], Some("a")), (vec![2], Some("b")), (vec![3], Some("a"))]);
        let err = pager.collect_all().await.unwrap_err();
        assert!(matches!(err, Error::Pagination(ref m) if m.contains("\"a\"")), "{err}");
    }

    #[tokio::test]
    async fn fetches_lazily() {
        let (pager, calls) = scripted(vec![(vec![1, 2], Some("a")), (vec![3], Some("b")), (vec![4], None)]);
        let mut items = std::pin::pin!(pager.items());
        assert_eq!(items.next().await.unwrap().unwrap(), 1);
        assert_eq!(items.next().await.unwrap().unwrap(), 2);
        assert_eq!(
            calls.lock().unwrap().len(),
            1,
            "page 2 is not fetched before it is needed"
        );
        assert_eq!(items.next().await.unwrap().unwrap(), 3);
        assert_eq!(calls.lock().unwrap().len(), 2, "page 3 is never fetched");
    }
}
