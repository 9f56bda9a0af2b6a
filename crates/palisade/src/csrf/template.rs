//! minijinja helpers: `{{ csrf_field() }}` and `{{ csrf_token() }}`.

use super::CsrfToken;
use minijinja::Value;
use std::collections::BTreeMap;

impl CsrfToken {
    /// Template functions for this request, to merge into the render
    /// context:
    ///
    /// - `csrf_field()`: the hidden `<input name="csrf_token">`, marked safe
    ///   so auto-escaping leaves it markup;
    /// - `csrf_token()`: the bare masked token, e.g. for
    ///   `<meta name="csrf-token" content="{{ csrf_token() }}">`.
    ///
    /// Each call renders a fresh masking, and only a call (not merely
    /// passing these functions) stores a new secret.
    ///
    /// ```
    /// # async fn demo(token: palisade::csrf::CsrfToken) -> Result<(), minijinja::Error> {
    /// let mut env = minijinja::Environment::new();
    /// env.add_template("form.html", r#"<form method="post">{{ csrf_field() }}</form>"#)?;
    /// let html = env.get_template("form.html")?.render(minijinja::context! {
    ///     user => "ann",
    ///     ..token.template_functions()
    /// })?;
    /// # let _ = html; Ok(()) }
    /// ```
    pub fn template_functions(&self) -> Value {
        Value::from(self.functions())
    }

    /// [`template_functions`](Self::template_functions) and the page's
    /// `csp_nonce()` in one value, for the usual page with forms and its own
    /// scripts:
    ///
    /// ```
    /// # fn page(token: palisade::csrf::CsrfToken, nonce: palisade::headers::CspNonce) -> Result<(), minijinja::Error> {
    /// let mut env = minijinja::Environment::new();
    /// env.add_template("page.html", r#"<script nonce="{{ csp_nonce() }}"></script><form>{{ csrf_field() }}</form>"#)?;
    /// let html = env.get_template("page.html")?.render(minijinja::context! { user => "ann", ..token.page_functions(&nonce) })?;
    /// # let _ = html; Ok(()) }
    /// ```
    pub fn page_functions(&self, nonce: &crate::headers::CspNonce) -> Value {
        let mut map = self.functions();
        map.insert("csp_nonce", nonce.template_function());
        Value::from(map)
    }

    fn functions(&self) -> BTreeMap<&'static str, Value> {
        let token = self.clone();
        let field = self.clone();
        let mut map = BTreeMap::new();
        map.insert("csrf_token", Value::from_function(move || token.masked()));
        map.insert("csrf_field", Value::from_function(move || Value::from_safe_string(field.hidden_field())));
        map
    }
}
