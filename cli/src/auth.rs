//! `lakebase auth`: log in as a person (`login`), print the token (`token`), say how the
//! CLI authenticates (`describe`), list profiles (`profiles`), drop cached tokens (`logout`).

use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;
use lakebase::auth::u2m::cache::TokenCache;
use lakebase::auth::u2m::{ExternalBrowserCredentials, login_options_from_env};
use lakebase::auth::{AuthConfig, profile};
use lakebase::config::{Env, OsEnv};
use lakebase::{Client, Config};
use serde_json::{Value, json};

use crate::args::GlobalArgs;
use crate::auth_file;
use crate::exit::{Exit, Failure};
use crate::output::Format;

/// `lakebase auth ...`.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Log in with your browser (OAuth U2M) and save the profile in ~/.databrickscfg.
    #[command(after_help = "\
Examples:
  lakebase auth login --host https://my-workspace.cloud.databricks.com
  lakebase auth login --host https://my-workspace.cloud.databricks.com --profile dev

The URL to open is always printed; BROWSER chooses the browser. The profile (default
DEFAULT, or DATABRICKS_CONFIG_PROFILE) gets host and auth_type = external-browser; other
profiles, comments and keys are kept.")]
    Login {
        /// Port of the http://localhost redirect (default 8020, or LAKEBASE_OAUTH_REDIRECT_PORT).
        #[arg(long, value_name = "PORT")]
        redirect_port: Option<u16>,
        /// How long to wait for the browser (default 5m, or LAKEBASE_OAUTH_LOGIN_TIMEOUT seconds).
        #[arg(long, value_name = "DURATION")]
        login_timeout: Option<humantime::Duration>,
    },
    /// Print the current access token as JSON: {"access_token", "token_type", "expiry"}.
    Token,
    /// Say which login method is used, for whom, and where each setting came from.
    Describe,
    /// List the profiles of ~/.databrickscfg and whether each can log in now.
    Profiles,
    /// Drop the cached browser-login tokens of the host.
    Logout,
}

fn config_failure(e: lakebase::Error) -> Failure {
    Failure::from(e)
}

fn builder(global: &GlobalArgs) -> lakebase::config::ConfigBuilder {
    let mut b = Config::builder();
    if let Some(host) = &global.host {
        b = b.host(host);
    }
    if let Some(profile) = &global.profile {
        b = b.profile(profile);
    }
    b
}

fn config_file() -> Option<PathBuf> {
    OsEnv
        .var("DATABRICKS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| OsEnv.home_dir().map(|h| h.join(".databrickscfg")))
}

fn print(format: Format, value: &Value, text: &str) {
    match format {
        Format::Json => println!("{}", serde_json::to_string(value).unwrap_or_default()),
        Format::Text => println!("{text}"),
    }
}

/// Runs an auth command.
pub async fn run(global: &GlobalArgs, command: AuthCommand) -> Result<Exit, Failure> {
    match command {
        AuthCommand::Login {
            redirect_port,
            login_timeout,
        } => login(global, redirect_port, login_timeout.map(Into::into)).await,
        AuthCommand::Token => token(global).await,
        AuthCommand::Describe => describe(global).await,
        AuthCommand::Profiles => profiles(global).await,
        AuthCommand::Logout => logout(global).await,
    }
}

async fn login(global: &GlobalArgs, port: Option<u16>, timeout: Option<Duration>) -> Result<Exit, Failure> {
    let profile_name = global
        .profile
        .clone()
        .or_else(|| OsEnv.var("DATABRICKS_CONFIG_PROFILE"))
        .unwrap_or_else(|| "DEFAULT".to_owned());
    let file = config_file().ok_or_else(|| {
        Failure::new(
            Exit::Usage,
            "no home directory for ~/.databrickscfg: set DATABRICKS_CONFIG_FILE",
        )
    })?;
    // Read the profile when it exists (its client_id, scopes, ...); the host flag wins.
    let exists = profile::list(&file)
        .map_err(config_failure)?
        .iter()
        .any(|p| p.name == profile_name);
    let mut b = Config::builder().auth_type("external-browser");
    if let Some(host) = &global.host {
        b = b.host(host);
    }
    if exists {
        b = b.profile(&profile_name);
    }
    let auth: AuthConfig = b.auth_config().map_err(config_failure)?;
    let mut options = login_options_from_env(auth.env.as_ref()).map_err(config_failure)?;
    if let Some(p) = port {
        options = options.with_redirect_port(p);
    }
    if let Some(t) = timeout {
        options = options.with_timeout(t);
    }
    let home = auth
        .env
        .home_dir()
        .ok_or_else(|| Failure::new(Exit::Usage, "no home directory for the token cache: set HOME"))?;
    let creds =
        ExternalBrowserCredentials::with_cache(&auth, TokenCache::in_home(&home), options).map_err(config_failure)?;
    let started = std::time::Instant::now();
    creds.login().await.map_err(config_failure)?;
    let login_ms = started.elapsed().as_millis();

    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let updated = auth_file::set_profile_values(
        &text,
        &profile_name,
        &[("host", auth.host.as_str()), ("auth_type", "external-browser")],
    );
    auth_file::write_private(&file, &updated)
        .map_err(|e| Failure::new(Exit::Usage, format!("cannot write {}: {e}", file.display())))?;

    let config = Config::builder()
        .profile(&profile_name)
        .config_file(&file)
        .build()
        .map_err(config_failure)?;
    let user = Client::new(config)?.current_user().await.ok().and_then(|u| u.user_name);
    print(
        global.output,
        &json!({"host": auth.host, "profile": profile_name, "config_file": file, "user": user, "login_ms": login_ms}),
        &format!(
            "Logged in to {} as {}; profile {profile_name:?} saved in {}",
            auth.host,
            user.as_deref().unwrap_or("(unknown user)"),
            file.display()
        ),
    );
    Ok(Exit::Ok)
}

async fn token(global: &GlobalArgs) -> Result<Exit, Failure> {
    let config = builder(global).build().map_err(config_failure)?;
    let t = config.credentials().token().await.map_err(config_failure)?;
    let value = json!({
        "access_token": t.access_token.expose(),
        "token_type": t.token_type,
        "expiry": t.expiry_rfc3339(),
    });
    println!("{}", serde_json::to_string(&value).unwrap_or_default());
    Ok(Exit::Ok)
}

async fn describe(global: &GlobalArgs) -> Result<Exit, Failure> {
    let config = builder(global).build().map_err(config_failure)?;
    let client = Client::new(config.clone())?;
    let user = client.current_user().await.ok().and_then(|u| u.user_name);
    let mut sources = serde_json::Map::new();
    let mut lines = Vec::new();
    for (key, setting) in config.settings().iter() {
        let (kind, from) = match setting.source() {
            lakebase::auth::Source::Environment(var) => ("environment", json!(var)),
            lakebase::auth::Source::Profile { name, file } => {
                ("profile", json!(format!("{name} ({})", file.display())))
            }
            _ => ("explicit", Value::Null),
        };
        sources.insert(
            key.to_owned(),
            json!({"value": setting.display_value(), "source": kind, "from": from}),
        );
        lines.push(format!("  {key} = {} ({})", setting.display_value(), setting.source()));
    }
    let value = json!({
        "auth_type": config.auth_type(),
        "host": config.host(),
        "user": user,
        "profile": config.profile(),
        "sources": sources,
    });
    print(
        global.output,
        &value,
        &format!(
            "Authenticated with {} to {} as {}\nSettings:\n{}",
            config.auth_type(),
            config.host(),
            user.as_deref().unwrap_or("(unknown: SCIM Me failed)"),
            lines.join("\n")
        ),
    );
    Ok(Exit::Ok)
}

async fn profiles(global: &GlobalArgs) -> Result<Exit, Failure> {
    let file = config_file().ok_or_else(|| Failure::new(Exit::Usage, "no home directory for ~/.databrickscfg"))?;
    let mut out = Vec::new();
    let mut lines = vec![format!("{:<20} {:<45} {:<18} valid", "name", "host", "auth_type")];
    for p in profile::list(&file).map_err(config_failure)? {
        let check = async {
            let config = Config::builder().profile(&p.name).config_file(&file).build()?;
            let auth_type = config.auth_type();
            if auth_type == "external-browser" {
                // Never open a browser here: a cached login is what counts.
                let auth = Config::builder().profile(&p.name).config_file(&file).auth_config()?;
                let cached = ExternalBrowserCredentials::new(&auth)?.cached().await?;
                return Ok::<_, lakebase::Error>((auth_type, cached.is_some()));
            }
            let ok = tokio::time::timeout(Duration::from_secs(15), config.credentials().token())
                .await
                .is_ok_and(|t| t.is_ok());
            Ok((auth_type, ok))
        };
        let (auth_type, valid, error) = match check.await {
            Ok((t, v)) => (Some(t), v, None),
            Err(e) => (None, false, Some(e.to_string())),
        };
        lines.push(format!(
            "{:<20} {:<45} {:<18} {}",
            p.name,
            p.get("host").unwrap_or("-"),
            auth_type.unwrap_or("-"),
            if valid { "YES" } else { "NO" }
        ));
        out.push(
            json!({"name": p.name, "host": p.get("host"), "auth_type": auth_type, "valid": valid, "error": error}),
        );
    }
    print(global.output, &json!({"profiles": out}), &lines.join("\n"));
    Ok(Exit::Ok)
}

async fn logout(global: &GlobalArgs) -> Result<Exit, Failure> {
    let auth = builder(global)
        .auth_type("external-browser")
        .auth_config()
        .map_err(config_failure)?;
    let removed = ExternalBrowserCredentials::new(&auth)
        .map_err(config_failure)?
        .logout()
        .await
        .map_err(config_failure)?;
    print(
        global.output,
        &json!({"host": auth.host, "removed": removed}),
        &format!("Dropped {removed} cached login(s) of {}", auth.host),
    );
    Ok(Exit::Ok)
}
