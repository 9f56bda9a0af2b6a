//! The command line: subcommands and their options, with help that teaches.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "palisade",
    version,
    about = "Check what a site's cookies and headers give away, and make the values that protect them.",
    long_about = "Check what a site's cookies and headers give away, and make the values that protect them.\n\n\
                  The security guides tell you to do these by hand: `openssl dgst -sha384 -binary | openssl base64 -A` \
                  for integrity hashes, `secrets.token_urlsafe` for keys, base64 and zlib to see that a signed \
                  session cookie is readable by anyone. Each subcommand does one of them, and says what to change.",
    after_help = "Exit codes: 0 done, 1 a finding the command was asked to fail on, 2 the command could not run \
                  (bad input, a file or site that could not be read)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Grade a live site's headers and cookies as the MDN HTTP Observatory does, then check what it misses.
    #[command(long_about = "Grade a live site's headers and cookies as the MDN HTTP Observatory does, then check \
                      what it misses.\n\n\
                      Fetches http://HOST/PATH and https://HOST/PATH (redirects followed by hand, at most 10; a bare \
                      host means /), grades the https response when there is one, and runs the Observatory's ten \
                      tests with its result names, score modifiers and grade bands: Content-Security-Policy, \
                      cookies, CORS, redirection, Referrer-Policy, HSTS, Subresource Integrity, \
                      X-Content-Type-Options, X-Frame-Options and Cross-Origin-Resource-Policy.\n\n\
                      Then the checks beyond it, each with the fix for Palisade, Flask, Django and nginx: cookie \
                      prefixes, lifetimes, Domain, size, session cookies set over plain HTTP, caching of responses \
                      that set cookies, signed cookies anyone can read (decoded), CORS with hostile Origins, \
                      integrity values checked against the files, mixed content, version banners, a redirect that \
                      leaves the host, and CSP Evaluator's findings on the policy.\n\n\
                      Exit codes: 0 every site passed the gates, 1 a site is below --min-grade / --min-score or has \
                      a --fail-on result or finding, 2 a site could not be scanned (down, a 4xx/5xx page, a \
                      certificate that is not trusted without --insecure, a timeout).\n\n\
                      Examples:\n  palisade audit https://example.com\n  \
                      palisade audit --min-grade B --fail-on cookies-session-without-secure-flag example.com\n  \
                      palisade audit --format sarif --urls sites.txt > audit.sarif\n  \
                      palisade audit --cookie \"session=$SESSION\" https://example.com/account")]
    Audit(AuditArgs),
    /// Subresource Integrity values for files or URLs (`integrity="sha384-…"`).
    #[command(long_about = "Subresource Integrity values for files or URLs.\n\n\
                      With an `integrity` attribute a browser runs a script (or applies a stylesheet) only if its \
                      bytes hash to that value, so a CDN or a static-file server that is changed cannot get new \
                      code run on your pages. Hash the file you ship, then put the value in the tag.\n\n\
                      Examples:\n  palisade sri static/app.js\n  palisade sri --algo sha256,sha384 static/app.js\n  \
                      palisade sri --html https://cdn.example/lib.min.js")]
    Sri(SriArgs),
    /// A new secret key: Palisade's by default, or Flask's or Django's format.
    #[command(long_about = "A new secret key from the operating system's random number generator.\n\n\
                      A session or signing key must be random and long: anyone who guesses it can sign cookies \
                      that log them in as any user. Never reuse one key for two apps, never commit it.\n\n\
                      Examples:\n  export PALISADE_SECRET_KEY=$(palisade keygen)\n  palisade keygen --flask   \
                      # SECRET_KEY for Flask\n  palisade keygen --django  # SECRET_KEY for Django")]
    Keygen(KeygenArgs),
    /// What a Flask, Django, Starlette or JWT cookie lets anyone read.
    #[command(long_about = "What a Flask, Django, Starlette or JWT cookie lets anyone read, without any secret.\n\n\
                      These cookies are signed, not encrypted: the signature stops changes, but every visitor (and \
                      every proxy log, browser extension or XSS payload that sees the cookie) can read the data. \
                      Paste a cookie's value to see what it gives away.\n\n\
                      With --secret (or --secret-file) it also checks the signature as the framework would, with \
                      the same key derivation and salts, fallback keys in order, and the framework's default age \
                      limit (--max-age for your own): a cookie that verifies with a default or leaked key means \
                      anyone can sign in as any user.\n\n\
                      Exit codes: 0 decoded (and, with a secret, the framework would accept it), 1 the signature \
                      does not verify with any secret given or the cookie has expired, 2 not a readable cookie.\n\n\
                      Examples:\n  palisade decode 'eyJfdXNlcl9pZCI6IjQyIn0.Z0Y3Aw.Qm9...'\n  \
                      palisade decode --format json \"$COOKIE\"\n  \
                      palisade decode --secret-file secrets.txt \"session=$COOKIE\"\n  \
                      palisade decode --salt billing --secret-file django-keys.txt \"plan=$SIGNED\"")]
    Decode(DecodeArgs),
    /// What a Content-Security-Policy lets through, with CSP Evaluator's checks.
    #[command(
        long_about = "What a Content-Security-Policy lets through, with the checks of Google's CSP Evaluator.\n\n\
                      A policy that allows 'unsafe-inline', a whole scheme (https:) or a host that serves JSONP or \
                      AngularJS stops no cross-site scripting: an attacker who can inject HTML runs script anyway. \
                      Each finding names the directive and source, and what to write instead. `palisade audit` runs \
                      the same checks on the policy a site sends.\n\n\
                      Examples:\n  palisade csp \"default-src 'self'; script-src 'self' 'unsafe-inline'\"\n  \
                      palisade csp --format json --from-json policies.json\n  \
                      palisade csp --bypass-lists lists.json \"script-src https://www.google.com\""
    )]
    Csp(CspArgs),
}

#[derive(Debug, clap::Args)]
pub struct CspArgs {
    /// Policies to check, each the value of one Content-Security-Policy header.
    #[arg(value_name = "POLICY")]
    pub policies: Vec<String>,
    /// Also check the policies in this JSON array of strings (`-`: standard input).
    #[arg(long, value_name = "FILE")]
    pub from_json: Option<String>,
    /// Hosts known to serve JSONP, AngularJS or Flash, as JSON: {"jsonp": ["//host/path", ...], "angular": [...],
    /// "flash": [...], "jsonp_needs_eval": ["host", ...]} (CSP Evaluator's lists; not shipped with palisade).
    #[arg(long, value_name = "FILE")]
    pub bypass_lists: Option<String>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
}

/// `--algo` values: the hashes browsers accept for `integrity`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Algo {
    Sha256,
    Sha384,
    Sha512,
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Sites to audit: URLs or host names (a port, if given, is used for both http and https).
    #[arg(value_name = "URL")]
    pub targets: Vec<String>,
    /// A file with one URL per line (blank lines and # comments skipped).
    #[arg(long, value_name = "FILE")]
    pub urls: Option<String>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: AuditFormat,
    /// Exit with 1 when a site's grade is below this (A+, A, A-, B+, … F).
    #[arg(long, value_name = "GRADE")]
    pub min_grade: Option<String>,
    /// Exit with 1 when a site's score is below this.
    #[arg(long, value_name = "SCORE")]
    pub min_score: Option<i32>,
    /// Exit with 1 when a site gets one of these results (comma-separated result names).
    #[arg(long, value_delimiter = ',', value_name = "RESULT,...")]
    pub fail_on: Vec<String>,
    /// Also trust the certificate authorities in this PEM file (a test or company CA).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<String>,
    /// Seconds each site's redirect chain may take.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Sites scanned at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Grade a site whose certificate is not trusted (the Observatory does) instead of stopping with exit code 2.
    #[arg(long)]
    pub insecure: bool,
    /// A header for an authenticated scan, `Name: value` (repeatable). Sent to the target's host over HTTPS only.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// A cookie for an authenticated scan, `name=value` (repeatable). Sent to the target's host over HTTPS only.
    #[arg(long = "cookie", value_name = "NAME=VALUE")]
    pub cookies: Vec<String>,
    /// Also send --header and --cookie over plain HTTP, where anyone on the network can read and replay them.
    #[arg(long)]
    pub send_credentials_over_http: bool,
    /// JSONP/AngularJS/Flash host lists for the CSP checks (see `palisade csp --help`).
    #[arg(long, value_name = "FILE")]
    pub bypass_lists: Option<String>,
    /// Print the Observatory's grade only, without the checks beyond it.
    #[arg(long)]
    pub observatory_only: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    /// For people: the grade, each test, and every finding with what to change.
    Human,
    /// The Observatory's JSON (scan, tests) for each site, with palisade's findings.
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards (GitHub, GitLab).
    Sarif,
    /// JUnit XML: one test case per Observatory test and finding, for CI test reports.
    Junit,
}

#[derive(Debug, clap::Args)]
pub struct SriArgs {
    /// Files to hash, or http(s) URLs to fetch and hash.
    #[arg(required = true, value_name = "FILE|URL")]
    pub inputs: Vec<String>,
    /// Hash algorithms; several give several values (browsers use the strongest they know).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "sha384")]
    pub algo: Vec<Algo>,
    /// Print the whole `<script>` or `<link rel="stylesheet">` tag with `integrity` and `crossorigin`.
    #[arg(long)]
    pub html: bool,
}

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Flask's format: 64 hexadecimal characters (32 random bytes), as `secrets.token_hex()` makes.
    #[arg(long, conflicts_with = "django")]
    pub flask: bool,
    /// Django's format: 50 characters from `get_random_secret_key`'s alphabet.
    #[arg(long)]
    pub django: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: what the cookie is, what it reveals, what to change.
    Human,
    /// One JSON object, for scripts and CI.
    Json,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("secret_given").args(["secret", "secret_file"]).multiple(true)))]
pub struct DecodeArgs {
    /// The cookie's value (with or without the `name=` in front; a Django signed cookie needs its name).
    pub cookie: String,
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Check the signature with this secret key (SECRET_KEY, the JWT secret). Repeat for fallbacks, current key
    /// first (SECRET_KEY_FALLBACKS). A secret on the command line lands in shell history and `ps`: prefer
    /// --secret-file.
    #[arg(long, value_name = "KEY", value_parser = parse_secret)]
    pub secret: Vec<crate::decode::Secret>,
    /// Read secrets from FILE, one per line, after any --secret (`-`: standard input).
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<String>,
    /// The salt the application signs with, if not the framework's default (Django: set_signed_cookie's salt,
    /// signing.dumps' salt; Flask: a custom session interface's).
    #[arg(long, requires = "secret_given")]
    pub salt: Option<String>,
    /// The age limit your application applies, in seconds, instead of the framework's default
    /// (PERMANENT_SESSION_LIFETIME, SESSION_COOKIE_AGE, Starlette's max_age).
    #[arg(long, value_name = "SECONDS", requires = "secret_given")]
    pub max_age: Option<u64>,
}

fn parse_secret(text: &str) -> Result<crate::decode::Secret, String> {
    Ok(crate::decode::Secret::new(text.as_bytes().to_vec()))
}

/// Where an SRI input comes from.
#[derive(Debug)]
pub enum Input {
    File(PathBuf),
    Url(String),
}

impl Input {
    pub fn parse(text: &str) -> Self {
        if text.starts_with("https://") || text.starts_with("http://") {
            Input::Url(text.to_owned())
        } else {
            Input::File(PathBuf::from(text))
        }
    }
}
