//! The bodies Palisade's layers answer with and hand on, generic over the
//! app's own body type, as tower-http's layers are: a layer never asks the
//! body to be built from a string or from bytes (`From<&'static str>`,
//! `From<Bytes>`), so it composes with any other layer (a
//! `RequestBodyLimitLayer` outside the CSRF layer, compression, tracing).

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project! {
    /// The body of a response that passed through a Palisade layer: the
    /// inner service's own, or a short text of the layer's (a 403 from the
    /// CSRF check, a 503 when the session store is down, a redirect).
    #[project = ResponseBodyProj]
    pub enum ResponseBody<B> {
        /// What the inner service answered.
        Inner { #[pin] body: B },
        /// The layer's own answer.
        Text { data: Option<Bytes> },
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn inner(body: B) -> Self {
        Self::Inner { body }
    }

    pub(crate) fn text(text: &'static str) -> Self {
        Self::Text { data: (!text.is_empty()).then(|| Bytes::from_static(text.as_bytes())) }
    }
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Inner { .. } => f.write_str("ResponseBody::Inner"),
            Self::Text { .. } => f.write_str("ResponseBody::Text"),
        }
    }
}

impl<B: Body<Data = Bytes>> Body for ResponseBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project() {
            ResponseBodyProj::Inner { body } => body.poll_frame(cx),
            ResponseBodyProj::Text { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Inner { body } => body.is_end_stream(),
            Self::Text { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Inner { body } => body.size_hint(),
            Self::Text { data } => SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64)),
        }
    }
}

pin_project! {
    /// The request body the CSRF layer hands on: untouched, or (when it read
    /// the form to find the token) the very bytes it read.
    #[project = RequestBodyProj]
    pub enum RequestBody<B> {
        /// Not read by the layer.
        Inner { #[pin] body: B },
        /// Read by the layer (up to its limit) and handed on unchanged.
        Buffered { data: Option<Bytes> },
    }
}

impl<B> RequestBody<B> {
    pub(crate) fn inner(body: B) -> Self {
        Self::Inner { body }
    }

    pub(crate) fn buffered(data: Bytes) -> Self {
        Self::Buffered { data: (!data.is_empty()).then_some(data) }
    }
}

impl<B> std::fmt::Debug for RequestBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Inner { .. } => f.write_str("RequestBody::Inner"),
            Self::Buffered { .. } => f.write_str("RequestBody::Buffered"),
        }
    }
}

impl<B: Body<Data = Bytes>> Body for RequestBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project() {
            RequestBodyProj::Inner { body } => body.poll_frame(cx),
            RequestBodyProj::Buffered { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Inner { body } => body.is_end_stream(),
            Self::Buffered { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Inner { body } => body.size_hint(),
            Self::Buffered { data } => SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64)),
        }
    }
}
