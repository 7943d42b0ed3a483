//! SMTP with XOAUTH2: the access token of a signed-in Google or Microsoft account
//! stands in for a password (`[mail.smtp] xoauth2_account`). The transport is built
//! for each drain, because lettre fixes credentials when a transport is built and
//! tokens are refreshed ahead of expiry between drains.

use crate::auth::google::{AccountTokens, OAuthClient};
use crate::auth::microsoft::{MicrosoftClient, MicrosoftTokens};
use crate::auth::org::{OrgCredential, OrgGrant};
use crate::auth::{AuthError, TokenKey};
use crate::config::{Config, Provider, SmtpConfig};
use crate::mail::{MailError, SmtpAuth, SmtpTransport, Transport};
use crate::store::Store;
use std::sync::Arc;

/// The transport for `config.mail`: XOAUTH2 through `account` when configured,
/// else what the config says (password or no AUTH, or files).
pub async fn transport(
    config: &Config,
    store: &Store,
    clients: &crate::pass::Clients,
) -> Result<Box<dyn Transport>, MailError> {
    let api = &clients.api;
    let Some((smtp, account)) = config
        .mail
        .smtp
        .as_ref()
        .filter(|_| config.mail.transport == crate::config::TransportKind::Smtp)
        .and_then(|smtp| smtp.xoauth2_account.as_deref().map(|a| (smtp, a)))
    else {
        return crate::mail::transport_from_config(&config.mail);
    };
    if let Some(org) = config.org(account) {
        // Validation requires the mailbox to send as for an org.
        let sender = smtp.username.clone().unwrap_or_default();
        let credential = clients
            .orgs
            .get(config, org, store, api)
            .map_err(|e| MailError::Config(format!("XOAUTH2 through org '{account}': {e}")))?;
        return org_transport(config, credential, &sender).await;
    }
    let token = access_token(config, store, api, account)
        .await
        .map_err(|e| MailError::Config(format!("XOAUTH2 through account '{account}': {e}")))?;
    let username = username(config, store, smtp, account)?;
    let auth = SmtpAuth::XOAuth2 { username, token };
    Ok(Box::new(SmtpTransport::new(smtp, &config.mail.from, auth)?))
}

/// The SMTP transport of `config.mail.smtp` sending as `sender` with an org's
/// credential instead of a person's sign-in or a password: Gmail with a token
/// delegated to `sender`, Exchange Online with the app's `SMTP.SendAsApp` token.
pub async fn org_transport(
    config: &Config,
    credential: Arc<OrgCredential>,
    sender: &str,
) -> Result<Box<dyn Transport>, MailError> {
    let smtp = config.mail.smtp.as_ref().ok_or_else(|| {
        MailError::Config("sending through an org needs a [mail.smtp] section".into())
    })?;
    let org = credential.org().to_string();
    let token = OrgGrant::new(credential, Some(sender), Vec::new())
        .mail_token()
        .await
        .map_err(|e| MailError::Config(format!("XOAUTH2 through org '{org}' as {sender}: {e}")))?;
    let auth = SmtpAuth::XOAuth2 {
        username: sender.to_string(),
        token: token.expose().to_string(),
    };
    Ok(Box::new(SmtpTransport::new(smtp, &config.mail.from, auth)?))
}

/// The mailbox to log in as: `username`, else the account's owner.
fn username(
    config: &Config,
    store: &Store,
    smtp: &SmtpConfig,
    account: &str,
) -> Result<String, MailError> {
    if let Some(username) = &smtp.username {
        return Ok(username.clone());
    }
    let owners = crate::pass::account_owners(config, store)?;
    owners.get(account).cloned().ok_or_else(|| {
        MailError::Config(format!(
            "XOAUTH2 through account '{account}': its address is unknown; set [mail.smtp] username or the account's owner"
        ))
    })
}

pub(crate) async fn access_token(
    config: &Config,
    store: &Store,
    api: &reqwest::Client,
    account: &str,
) -> Result<String, String> {
    let settings = config
        .account(account)
        .ok_or_else(|| format!("no account named '{account}'"))?;
    let key = TokenKey::locate(config.token_key_file.as_deref()).map_err(|e| e.to_string())?;
    let token = match settings.provider {
        // One Google token covers every granted scope, mail.google.com included
        // (requested at sign-in when this account sends mail); Microsoft issues one
        // token per resource: SMTP.Send is its own token, minted from the same
        // refresh token. `mail_token` knows which.
        Provider::Google => {
            let client = OAuthClient::google(settings).map_err(|e| e.to_string())?;
            AccountTokens::new(account, client, key, store.clone(), api.clone())
                .mail_token()
                .await
        }
        Provider::Microsoft => {
            let client = MicrosoftClient::from_config(settings).map_err(|e| e.to_string())?;
            MicrosoftTokens::new(account, client, key, store.clone(), api.clone())
                .mail_token()
                .await
        }
        Provider::Ics => {
            return Err("an .ics account has no OAuth token".into());
        }
    };
    token
        .map(|secret| secret.expose().to_string())
        .map_err(|e: AuthError| e.to_string())
}
