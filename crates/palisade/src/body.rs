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
    /// A body that passed through a Palisade layer: the one it was given,
    /// or bytes of the layer's own (its short answer: a 403, a 503, a
    /// redirect; or the form it read to find the CSRF token, handed on
    /// unchanged).
    #[project = LayerBodyProj]
    pub enum LayerBody<B> {
        /// The body the layer was given, untouched.
        Inner { #[pin] body: B },
        /// Bytes the layer holds (at most one frame).
        Bytes { data: Option<Bytes> },
    }
}

/// The body of a response through a Palisade layer.
pub type ResponseBody<B> = LayerBody<B>;

/// The request body the CSRF layer hands on.
pub type RequestBody<B> = LayerBody<B>;

impl<B> LayerBody<B> {
    pub(crate) fn inner(body: B) -> Self {
        Self::Inner { body }
    }

    pub(crate) fn text(text: &'static str) -> Self {
        Self::bytes(Bytes::from_static(text.as_bytes()))
    }

    pub(crate) fn bytes(data: Bytes) -> Self {
        Self::Bytes { data: (!data.is_empty()).then_some(data) }
    }
}

impl<B> std::fmt::Debug for LayerBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Inner { .. } => f.write_str("LayerBody::Inner"),
            Self::Bytes { .. } => f.write_str("LayerBody::Bytes"),
        }
    }
}

impl<B: Body<Data = Bytes>> Body for LayerBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project() {
            LayerBodyProj::Inner { body } => body.poll_frame(cx),
            LayerBodyProj::Bytes { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Inner { body } => body.is_end_stream(),
            Self::Bytes { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Inner { body } => body.size_hint(),
            Self::Bytes { data } => SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64)),
        }
    }
}
