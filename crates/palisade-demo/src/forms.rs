//! The register and login forms and their validation rules.
//!
//! Missing fields deserialize as empty strings, so a hand-made request gets
//! the same friendly 422 as a browser, not a bare extractor rejection. The
//! password never appears in `Debug` output, logs or re-rendered pages.

use regex::Regex;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;
use validator::{Validate, ValidationErrors};

/// Usernames: a letter, then letters, digits, `_` or `.`.
pub(crate) static USERNAME_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z][A-Za-z0-9_.]*$").unwrap_or_else(|e| unreachable!("valid regex: {e}")));

/// Longest password accepted: bounds the cost of hashing one.
pub(crate) const MAX_PASSWORD_CHARS: u64 = 1024;

#[derive(Deserialize, Validate)]
pub(crate) struct RegisterForm {
    #[serde(default)]
    #[validate(
        length(min = 3, max = 32, message = "Usernames are 3 to 32 characters long."),
        regex(path = *USERNAME_RE, message = "Start with a letter; then use only letters, digits, '_' and '.'.")
    )]
    pub(crate) username: String,
    #[serde(default)]
    #[validate(length(min = 12, max = "MAX_PASSWORD_CHARS", message = "Passwords are 12 to 1024 characters long."))]
    pub(crate) password: String,
}

#[derive(Deserialize, Validate)]
pub(crate) struct LoginForm {
    #[serde(default)]
    #[validate(length(min = 1, max = 32, message = "Enter your username (at most 32 characters)."))]
    pub(crate) username: String,
    #[serde(default)]
    #[validate(length(
        min = 1,
        max = "MAX_PASSWORD_CHARS",
        message = "Enter your password (at most 1024 characters)."
    ))]
    pub(crate) password: String,
    /// Where to go after logging in (checked against the redirect policy).
    #[serde(default)]
    pub(crate) next: Option<String>,
    /// The "remember me" checkbox: `on` when ticked, absent otherwise.
    #[serde(default)]
    pub(crate) remember: Option<String>,
}

impl LoginForm {
    /// True when "remember me" was ticked.
    pub(crate) fn remember(&self) -> bool {
        self.remember.as_deref() == Some("on")
    }
}

/// The change-password form.
#[derive(Deserialize, Validate)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    #[validate(length(min = 1, max = "MAX_PASSWORD_CHARS", message = "Enter your current password."))]
    pub(crate) current_password: String,
    #[serde(default)]
    #[validate(length(min = 12, max = "MAX_PASSWORD_CHARS", message = "Passwords are 12 to 1024 characters long."))]
    pub(crate) new_password: String,
}

impl std::fmt::Debug for PasswordForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordForm { <redacted> }")
    }
}

impl Drop for PasswordForm {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.current_password);
        zeroize::Zeroize::zeroize(&mut self.new_password);
    }
}

/// A device (session or remember-me token) to revoke, by store key (hex).
#[derive(Debug, Deserialize)]
pub(crate) struct RevokeForm {
    #[serde(default)]
    pub(crate) key: String,
}

/// `?next=` on the login page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct NextQuery {
    pub(crate) next: Option<String>,
}

macro_rules! redacted_debug {
    ($ty:ty) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("username", &self.username)
                    .field("password", &"<redacted>")
                    .finish_non_exhaustive()
            }
        }
    };
}
redacted_debug!(RegisterForm);
redacted_debug!(LoginForm);

impl Drop for RegisterForm {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.password);
    }
}

impl Drop for LoginForm {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.password);
    }
}

/// Error messages per field, for the templates (`errors.username`, …).
/// Every field of the form is present, possibly with no message.
pub(crate) fn field_messages(errors: &ValidationErrors, fields: &[&str]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = fields.iter().map(|f| ((*f).to_owned(), Vec::new())).collect();
    for (field, list) in errors.field_errors() {
        let messages = out.entry(field.to_string()).or_default();
        for error in list {
            let message = error.message.as_ref().map_or_else(|| format!("Invalid {field}."), ToString::to_string);
            if !messages.contains(&message) {
                messages.push(message);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register(username: &str, password: &str) -> RegisterForm {
        RegisterForm { username: username.into(), password: password.into() }
    }

    fn fields_in_error(form: &RegisterForm) -> Vec<String> {
        match form.validate() {
            Ok(()) => Vec::new(),
            Err(errors) => {
                let mut fields: Vec<String> = errors.field_errors().keys().map(ToString::to_string).collect();
                fields.sort();
                fields
            }
        }
    }

    #[test]
    fn valid_registrations() {
        for name in ["bob", "Alice_1", "a.b.c", "Z23456789012345678901234567890_."] {
            assert_eq!(fields_in_error(&register(name, "twelve chars")), Vec::<String>::new(), "{name}");
        }
    }

    #[test]
    fn username_rules() {
        let long = "a".repeat(33);
        for name in ["", "ab", "1abc", "_abc", ".abc", "ab-c", "ab c", "abc\n", "élan", "abc\u{0}", long.as_str()] {
            assert_eq!(fields_in_error(&register(name, "twelve chars")), ["username"], "{name:?}");
        }
    }

    #[test]
    fn password_rules() {
        assert_eq!(fields_in_error(&register("bob", "eleven char")), ["password"]);
        assert_eq!(fields_in_error(&register("bob", &"x".repeat(1025))), ["password"]);
        assert_eq!(fields_in_error(&register("bob", &"x".repeat(1024))), Vec::<String>::new());
        // Characters, not bytes: twelve multi-byte characters are enough.
        assert_eq!(fields_in_error(&register("bob", "ééééééééééé")), ["password"]);
        assert_eq!(fields_in_error(&register("bob", "éééééééééééé")), Vec::<String>::new());
    }

    #[test]
    fn messages_are_per_field_and_deduplicated() {
        let errors = register("1", "short").validate().unwrap_err();
        let messages = field_messages(&errors, &["username", "password"]);
        assert_eq!(messages["username"].len(), 2, "{messages:?}");
        assert_eq!(messages["password"], ["Passwords are 12 to 1024 characters long."]);
    }

    #[test]
    fn debug_never_shows_the_password() {
        let form = register("bob", "hunter2hunter2");
        let shown = format!("{form:?}");
        assert!(shown.contains("bob") && !shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn missing_fields_are_empty_strings() {
        let form: LoginForm = serde_json::from_str("{}").unwrap();
        assert!(form.username.is_empty() && form.password.is_empty() && form.next.is_none());
        assert!(form.validate().is_err());
    }
}
