//! Middleware that notes something about a request and then acts on its response, as a plain
//! tower layer: `axum::middleware::from_fn` boxes the inner service and the future of every
//! request, allocations on every request's path.

use axum::http::Request;
use axum::response::Response;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tower::{Layer, Service};
use tracing::Span;
use tracing::instrument::{Instrument, Instrumented};

/// What a [`HookLayer`] keeps from a request (it may also note something in the request's
/// extensions for the layers inside), the span the request is served in, and what it then
/// does with the response.
pub trait ResponseHook: Sized {
    fn from_request<B>(request: &mut Request<B>) -> Self;
    /// The span to serve the request in, taken once; none by default.
    fn take_span(&mut self) -> Span {
        Span::none()
    }
    fn on_response(self, response: Response) -> Response;
}

/// Wraps a service so that `H` sees each request and its response.
pub struct HookLayer<H>(PhantomData<fn() -> H>);

impl<H> HookLayer<H> {
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<H> Default for HookLayer<H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H> Clone for HookLayer<H> {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl<S, H> Layer<S> for HookLayer<H> {
    type Service = Hooked<S, H>;
    fn layer(&self, inner: S) -> Hooked<S, H> {
        Hooked {
            inner,
            hook: PhantomData,
        }
    }
}

pub struct Hooked<S, H> {
    inner: S,
    hook: PhantomData<fn() -> H>,
}

impl<S: Clone, H> Clone for Hooked<S, H> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            hook: PhantomData,
        }
    }
}

impl<S, H, B> Service<Request<B>> for Hooked<S, H>
where
    S: Service<Request<B>, Response = Response>,
    H: ResponseHook,
{
    type Response = Response;
    type Error = S::Error;
    type Future = HookedResponse<S::Future, H>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let mut hook = H::from_request(&mut request);
        let span = hook.take_span();
        let inner = span.in_scope(|| self.inner.call(request));
        HookedResponse {
            inner: inner.instrument(span),
            hook: Some(hook),
        }
    }
}

pin_project_lite::pin_project! {
    /// A response on its way out, handed to the hook when it is ready.
    pub struct HookedResponse<F, H> {
        #[pin]
        inner: Instrumented<F>,
        hook: Option<H>,
    }
}

impl<F, E, H> Future for HookedResponse<F, H>
where
    F: Future<Output = Result<Response, E>>,
    H: ResponseHook,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        Poll::Ready(result.map(|response| match this.hook.take() {
            Some(hook) => hook.on_response(response),
            None => response,
        }))
    }
}
