//! Splitting the fuzzer's bytes into the pieces a target needs.

/// Reads pieces off the front of the fuzzer's input.
pub(crate) struct Input<'a> {
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { rest: data }
    }

    /// One byte (0 when the input is used up).
    pub(crate) fn byte(&mut self) -> u8 {
        let (first, rest) = self.rest.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.rest = rest;
        first
    }

    /// `N` bytes, zero-padded when the input is short.
    pub(crate) fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.rest.len());
        out[..n].copy_from_slice(&self.rest[..n]);
        self.rest = &self.rest[n..];
        out
    }

    /// A piece whose length is the next byte.
    pub(crate) fn short(&mut self) -> &'a [u8] {
        let len = usize::from(self.byte()).min(self.rest.len());
        let (piece, rest) = self.rest.split_at(len);
        self.rest = rest;
        piece
    }

    /// Everything left.
    pub(crate) fn rest(self) -> &'a [u8] {
        self.rest
    }
}

/// The input as text, as a header or form field would carry it (invalid
/// UTF-8 replaced: the layers see `&str` after `HeaderValue::to_str`).
pub(crate) fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}
