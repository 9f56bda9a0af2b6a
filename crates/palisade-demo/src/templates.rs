//! Page templates, embedded in the binary.
//!
//! Every name ends in `.html`, which turns minijinja's HTML auto-escaping on:
//! a username like `<script>` is shown, never run. Undefined variables are
//! errors (strict mode), so a typo in a template fails the tests instead of
//! silently rendering nothing.

use minijinja::{Environment, UndefinedBehavior, Value};

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("register.html", include_str!("../templates/register.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("account.html", include_str!("../templates/account.html")),
    ("error.html", include_str!("../templates/error.html")),
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

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn escapes_user_data() {
        let templates = Templates::new().unwrap();
        let html = templates.render("home.html", context! { user => "<script>alert(1)</script>" }).unwrap();
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>alert"), "{html}");
    }

    #[test]
    fn every_template_compiles() {
        let templates = Templates::new().unwrap();
        for (name, _) in TEMPLATES {
            templates.env.get_template(name).unwrap();
        }
    }
}
