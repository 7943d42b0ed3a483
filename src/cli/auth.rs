//! `tete auth <account> [--loopback]`: sign an account in and store its tokens.
//!
//! Google: authorization code with PKCE and a loopback redirect; on a headless
//! server the user pastes the redirected address back (see `docs/google.md`).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use tokio::io::AsyncBufRead;

use super::Failure;
use crate::auth::google::{AccountTokens, CALENDAR_SCOPE, OAuthClient, scopes};
use crate::auth::loopback::{CodeSource, SignInRequest, sign_in};
use crate::auth::{AuthError, TokenKey};
use crate::config::{AccountConfig, Config, Provider};
use crate::pass::sync::account_owner;
use crate::sources::google::{GoogleAccount, SyncOptions};
use crate::sources::http::{Http, HttpOptions};
use crate::store::{Store, StoreOptions};

/// Arguments of `tete auth`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The account to sign in (its `name` in the config).
    pub account: String,
    /// Sign in through the loopback redirect. Google always does (its device flow
    /// does not allow calendar scopes), so for Google this changes nothing.
    #[arg(long)]
    pub loopback: bool,
}

/// Runs the command.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let config = super::session::load_or_exit(config_path)?;
    // `token_key_file`, else `$CREDENTIALS_DIRECTORY/token-key` when systemd passes one.
    run_with_config(&config, &args, config.token_key_file.as_deref())
}

/// Runs `tete auth` against a loaded config, on the terminal. `token_key_file` is
/// the account's `token_key_file` setting (else `$CREDENTIALS_DIRECTORY/token-key`).
pub fn run_with_config(
    config: &Config,
    args: &Args,
    token_key_file: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let stdin = tokio::io::BufReader::new(tokio::io::stdin());
    let mut stdout = std::io::stdout();
    let result = runtime.block_on(sign_in_account(
        config,
        &args.account,
        token_key_file,
        stdin,
        &mut stdout,
    ));
    // Reading stdin occupies a blocking thread that may never return: don't wait for it.
    runtime.shutdown_background();
    result.map(|_| ExitCode::SUCCESS)
}

/// Signs `account` in: prints the address to open on `output`, waits for the
/// loopback redirect or a pasted address on `input`, stores the tokens (sealed
/// when a token key exists) and learns the account's own address. Returns it.
pub async fn sign_in_account<R, W>(
    config: &Config,
    account: &str,
    token_key_file: Option<&Path>,
    input: R,
    output: &mut W,
) -> anyhow::Result<Option<String>>
where
    R: AsyncBufRead + Unpin,
    W: Write,
{
    let settings = find_account(config, account)?;
    if settings.provider == Provider::Microsoft {
        return sign_in_microsoft(config, settings, token_key_file, output).await;
    }
    let client = OAuthClient::google(settings).map_err(config_failure)?;
    let key = TokenKey::locate(token_key_file).map_err(config_failure)?;
    let xoauth2 = Some(account).filter(|a| config.uses_mail_token(a));
    let store = Store::open(
        &config.state_dir,
        &StoreOptions {
            cache_capacity: config.store.cache_capacity,
        },
    )?;
    let http = Http::default_client()?;
    let request = SignInRequest::google(scopes(account, xoauth2));
    let (granted, source) = sign_in(&client, &request, &http, input, output).await?;
    // Google's consent screen lets people untick scopes; without the calendar one
    // every sync would fail, so say so now rather than at the first poll.
    if !granted.scopes.iter().any(|s| s == CALENDAR_SCOPE) {
        return Err(Failure::failed(format!(
            "calendar access was not granted; run `tete auth {account}` again and allow \"See and download any calendar you can access\""
        ))
        .into());
    }
    let tokens = AccountTokens::new(account, client, key, store.clone(), http.clone());
    tokens.save_sign_in(&granted, chrono::Utc::now())?;
    let key_configured = tokens.sealed();
    let how = match source {
        CodeSource::Loopback => "through the browser's redirect",
        CodeSource::Pasted => "with the pasted address",
    };
    writeln!(output, "Signed in {how}.")?;
    if !key_configured {
        writeln!(
            output,
            "Note: no token key is configured, so the refresh token is stored unencrypted \
             (the state directory is private to tete's user). See docs/google.md."
        )?;
    }
    let google = GoogleAccount::from_config(
        settings,
        tokens,
        http,
        HttpOptions::default(),
        SyncOptions::default(),
    )?;
    let owner = match account_owner(&google, &store).await {
        Ok(owner) => {
            writeln!(
                output,
                "Account '{account}' reads the calendars of {owner}."
            )?;
            Some(owner)
        }
        Err(error) => {
            writeln!(
                output,
                "Signed in, but the calendar list could not be read: {error}"
            )?;
            None
        }
    };
    store.flush()?;
    Ok(owner)
}

fn find_account<'a>(config: &'a Config, name: &str) -> anyhow::Result<&'a AccountConfig> {
    let account = config
        .accounts
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = config.accounts.iter().map(|a| a.name.as_str()).collect();
            Failure::config(format!(
                "no account named '{name}' in the config (accounts: {})",
                names.join(", ")
            ))
        })?;
    match account.provider {
        Provider::Google | Provider::Microsoft => Ok(account),
        Provider::Ics => Err(Failure::failed(format!(
            "account '{name}' reads an .ics file and needs no sign-in"
        ))
        .into()),
    }
}

/// Microsoft: the device code flow (see `docs/microsoft.md`), then the mailbox's
/// address from Graph's `/me`.
async fn sign_in_microsoft<W: Write>(
    config: &Config,
    settings: &AccountConfig,
    token_key_file: Option<&Path>,
    output: &mut W,
) -> anyhow::Result<Option<String>> {
    use crate::auth::device::PollClock;
    use crate::auth::microsoft::{MicrosoftTokens, device_sign_in};
    use crate::sources::microsoft::{MicrosoftAccount, WindowPolicy};

    let key = TokenKey::locate(token_key_file).map_err(config_failure)?;
    let store = Store::open(
        &config.state_dir,
        &StoreOptions {
            cache_capacity: config.store.cache_capacity,
        },
    )?;
    let http = Http::default_client()?;
    let send_mail = config.uses_mail_token(&settings.name);
    device_sign_in(
        settings,
        &store,
        key.clone(),
        http.clone(),
        output,
        PollClock::default(),
        send_mail,
    )
    .await
    .map_err(config_failure)?;
    let tokens = MicrosoftTokens::for_account(settings, &store, key, http.clone())?;
    let account = MicrosoftAccount::from_config(
        settings,
        tokens,
        http,
        HttpOptions::default(),
        WindowPolicy::default(),
    )?;
    let owner = match account_owner(&account, &store).await {
        Ok(owner) => {
            writeln!(
                output,
                "Account '{}' reads the calendars of {owner}.",
                settings.name
            )?;
            Some(owner)
        }
        Err(error) => {
            writeln!(
                output,
                "Signed in, but the mailbox address could not be read: {error}"
            )?;
            None
        }
    };
    store.flush()?;
    Ok(owner)
}

fn config_failure(error: AuthError) -> anyhow::Error {
    match error {
        AuthError::Config(message) => Failure::config(message).into(),
        other => other.into(),
    }
}
