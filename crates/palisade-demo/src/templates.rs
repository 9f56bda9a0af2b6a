//! Page templates, embedded in the binary.
//!
//! Every name ends in `.html`, which turns minijinja's HTML auto-escaping on:
//! a username like `<script>` is shown, never run. Undefined variables are
//! errors (strict mode), so a typo in a template fails the tests instead of
//! silently rendering nothing.

use minijinja::{Environment, UndefinedBehavior, Value};
use palisade::sri::SriAssets;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("register.html", include_str!("../templates/register.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("account.html", include_str!("../templates/account.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("csrf-demo.html", include_str!("../templates/csrf-demo.html")),
    ("from-flask.html", include_str!("../templates/from-flask.html")),
    ("sessions.html", include_str!("../templates/sessions.html")),
    ("password.html", include_str!("../templates/password.html")),
];

/// The compiled templates.
#[derive(Debug)]
pub(crate) struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub(crate) fn new() -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        sri_assets()?.add_to_environment(&mut env);
        for (name, source) in TEMPLATES {
            debug_assert!(name.ends_with(".html"), "auto-escaping needs an .html name");
            env.add_template(name, source)?;
        }
        Ok(Self { env })
    }

    /// Renders template `name` with `ctx`.
    pub(crate) fn render(&self, name: &str, ctx: Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }
}

/// Integrity values of the scripts the pages load, hashed once at startup
/// from the same bytes the routes serve.
fn sri_assets() -> Result<SriAssets, minijinja::Error> {
    let invalid =
        |err: palisade::sri::SriError| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, err.to_string());
    SriAssets::new()
        .add_bytes("/static/csrf.js", include_bytes!("../static/csrf.js"))
        .and_then(|assets| assets.add_bytes("/static/demo.js", include_bytes!("../static/demo.js")))
        .map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    /// Stand-ins for the functions `palisade::csrf::CsrfToken` provides.
    fn csrf_functions() -> Value {
        let field = Value::from_function(|| {
            Value::from_safe_string(r#"<input type="hidden" name="csrf_token" value="t">"#.into())
        });
        let token = Value::from_function(|| "t".to_owned());
        // And the one `palisade::headers::CspNonce` provides.
        let nonce = Value::from_function(|| "n0nce".to_owned());
        Value::from(std::collections::BTreeMap::from([
            ("csrf_field", field),
            ("csrf_token", token),
            ("csp_nonce", nonce),
        ]))
    }

    #[test]
    fn escapes_user_data() {
        let templates = Templates::new().unwrap();
        let ctx = context! { user => "<script>alert(1)</script>", ..csrf_functions() };
        let html = templates.render("home.html", ctx).unwrap();
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>alert"), "{html}");
    }

    #[test]
    fn forms_carry_the_csrf_field_unescaped() {
        let templates = Templates::new().unwrap();
        let field = r#"<input type="hidden" name="csrf_token" value="t">"#;
        let ctx = context! { user => "ann", ..csrf_functions() };
        assert!(templates.render("home.html", ctx).unwrap().contains(field), "the nav's logout form");
        let errors = context! { username => Vec::<String>::new(), password => Vec::<String>::new() };
        for name in ["login.html", "register.html"] {
            let ctx = context! { user => (), username => "", errors, form_error => (), next => (), ..csrf_functions() };
            assert!(templates.render(name, ctx).unwrap().contains(field), "{name}");
        }
        let ctx = context! { user => "ann", note => (), ..csrf_functions() };
        let html = templates.render("csrf-demo.html", ctx).unwrap();
        assert!(html.contains(r#"<meta name="csrf-token" content="t">"#), "{html}");
        let integrity = sri_assets().unwrap().integrity("/static/csrf.js").unwrap().to_string();
        let script = format!(r#"<script src="/static/csrf.js" integrity="{integrity}" nonce="n0nce" defer></script>"#);
        assert!(html.contains(&script), "{html}");
    }

    #[test]
    fn pages_carry_the_nonce_on_their_own_scripts_only() {
        let templates = Templates::new().unwrap();
        let html = templates.render("home.html", context! { user => (), ..csrf_functions() }).unwrap();
        let integrity = sri_assets().unwrap().integrity("/static/demo.js").unwrap().to_string();
        assert!(
            html.contains(&format!(r#"<script src="/static/demo.js" integrity="{integrity}" nonce="n0nce" defer>"#))
        );
        assert!(html.contains(r#"<script nonce="n0nce">document.getElementById("script-status")"#), "{html}");
        assert!(html.contains(r#"<script>document.getElementById("unnonced-status")"#), "the CSP demonstration");
    }

    #[test]
    fn every_template_compiles() {
        let templates = Templates::new().unwrap();
        for (name, _) in TEMPLATES {
            templates.env.get_template(name).unwrap();
        }
    }
}
