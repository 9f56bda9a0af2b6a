//! The CSRF layer's reading of the `csrf_token` field from urlencoded and
//! multipart bodies (multer), and of the masked token it finds.
//!
//! Properties: never panics, whatever the body or boundary; a token found
//! in a urlencoded body is one the body holds (the first `csrf_token`
//! field, decoded as the WHATWG form parser decodes it).

use crate::input::{text, Input};
use palisade::fuzz_internals::{csrf_token_field, csrf_unmask};

pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let selector = input.byte();
    let boundary = text(input.short());
    let body = input.rest();
    let content_type = match selector % 4 {
        0 => "application/x-www-form-urlencoded".to_owned(),
        1 => format!("multipart/form-data; boundary={boundary}"),
        2 => format!("multipart/form-data; boundary=\"{boundary}\""),
        _ => boundary.clone(),
    };
    let found = futures_executor::block_on(csrf_token_field(&content_type, body));
    if let Some(token) = &found {
        let _ = csrf_unmask(token);
    }
    if selector % 4 == 0 {
        let expected = url::form_urlencoded::parse(body).find(|(name, _)| name == "csrf_token").map(|(_, v)| v);
        assert_eq!(found.as_deref(), expected.as_deref(), "the urlencoded field differs from the WHATWG parser's");
    }
}
