//! `[[orgs]]`: an administrator turns tete on for a whole Google Workspace or
//! Microsoft 365 organisation. One credential of the organisation (a Google service
//! account with domain-wide delegation, or an Entra app with application permissions)
//! reads the calendars of the people it covers, so nobody signs in on the server.

use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use super::raw::{RawOrg, RawRelationPrompts, S};
use super::validate::Validator;
use super::{AccountConfig, Provider};

/// `directory_refresh` default: the directory (groups, names, zones, managers) is
/// read again once a day, as the issue of org-wide mode asks.
pub const DEFAULT_DIRECTORY_REFRESH: Duration = Duration::from_secs(24 * 3_600);
/// The shortest `directory_refresh`: reading a directory of thousands costs many
/// requests, and who works where does not change by the minute.
pub const MIN_DIRECTORY_REFRESH: Duration = Duration::from_secs(3_600);
/// The longest `directory_refresh`: a week.
pub const MAX_DIRECTORY_REFRESH: Duration = Duration::from_secs(7 * 86_400);

/// The separator between an org's name and a person's address in the name of the
/// account tete makes for that person (`acme/dana@acme.com`). Configured account
/// names cannot contain it, so the two never collide.
pub const ORG_ACCOUNT_SEPARATOR: char = '/';

/// One `[[orgs]]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgConfig {
    /// Unique name among orgs and accounts (letters, digits, `_`, `-`).
    pub name: String,
    /// `google` or `microsoft`.
    pub provider: Provider,
    /// How tete proves it acts for the organisation.
    pub credential: OrgCredential,
    /// Google: the administrator tete impersonates to read the directory (users,
    /// groups). Needed when `groups` or `domain` is set.
    pub admin: Option<String>,
    /// Who gets one email when the org's credential is refused (`notify`, else `admin`).
    pub notify: Option<String>,
    /// Microsoft: the tenant (id or domain); app-only tokens need a real tenant.
    pub tenant: Option<String>,
    /// People covered by name (lower-cased addresses).
    pub people: Vec<String>,
    /// Groups whose members are covered (Google group address or id; Microsoft 365
    /// group address or object id), re-read every `directory_refresh`.
    pub groups: Vec<String>,
    /// When set, everyone of this domain is covered.
    pub domain: Option<String>,
    /// Addresses never covered, whatever the groups or domain say (lower-cased).
    pub exclude: Vec<String>,
    /// Calendars read for each person (`primary` by default).
    pub calendars: Vec<String>,
    /// How often each person's calendar is polled.
    pub poll_interval: Duration,
    /// How often the directory is read again.
    pub directory_refresh: Duration,
    /// Endpoint override: the calendar API (Google) or Graph (Microsoft) base URL.
    pub api_base_url: Option<String>,
    /// Endpoint override: Google's Admin SDK directory base URL.
    pub directory_base_url: Option<String>,
    /// Endpoint override: the token URL.
    pub token_url: Option<String>,
}

/// The organisation's credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrgCredential {
    /// A Google service account's JSON key (domain-wide delegation). `None`: the
    /// systemd credential `NAME-google-key` (`$CREDENTIALS_DIRECTORY/NAME-google-key`).
    ServiceAccountKey(Option<PathBuf>),
    /// An Entra app's client secret.
    ClientSecret {
        /// The app's client id.
        client_id: String,
        /// File holding the secret.
        secret_file: PathBuf,
    },
    /// An Entra app's certificate (client assertion): one PEM file holding the
    /// certificate and its private key.
    ClientCertificate {
        /// The app's client id.
        client_id: String,
        /// The PEM file.
        certificate_file: PathBuf,
    },
}

impl OrgConfig {
    /// The name of the account tete makes for `person` of this org.
    pub fn person_account(&self, person: &str) -> String {
        format!("{}{ORG_ACCOUNT_SEPARATOR}{person}", self.name)
    }

    /// The account tete polls for `person` (an address this org covers): the org's
    /// calendars, poll interval and endpoints, owned by `person`.
    pub fn account_for(&self, person: &str) -> AccountConfig {
        AccountConfig {
            name: self.person_account(person),
            provider: self.provider,
            owner: Some(person.to_string()),
            url: None,
            client_id: None,
            client_secret_file: None,
            calendars: self.calendars.clone(),
            poll_interval: self.poll_interval,
            tenant: self.tenant.clone(),
            api_base_url: self.api_base_url.clone(),
            auth_url: None,
            token_url: self.token_url.clone(),
            device_authorization_url: None,
            org: Some(self.name.clone()),
        }
    }

    /// True when `address` is excluded (compared case-insensitively).
    pub fn excludes(&self, address: &str) -> bool {
        let address = address.trim().to_lowercase();
        self.exclude.contains(&address)
    }
}

/// Conversation starters chosen by how the two people relate in the org chart
/// (`[brief.relation_prompts]`); the brief uses `brief.prompts` for everyone else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelationPrompts {
    /// Between a manager and their direct report.
    pub manager_report: Vec<String>,
    /// Between someone and their manager's manager.
    pub skip_level: Vec<String>,
    /// Between two people who share a manager.
    pub peer: Vec<String>,
}

/// Manager ↔ report: about the report's growth and what the manager can change.
pub const DEFAULT_MANAGER_REPORT_PROMPTS: &[&str] = &[
    "Where do you want your career to be in a year, and what would help you get there?",
    "Which skill would you like to build next, and what project could stretch it?",
    "What feedback do you have for your manager about how they support you?",
    "Is your current work using your strengths? What would you change?",
    "What is one thing that would make the next month go better for you?",
    "Which recent piece of work are you proud of, and was it seen?",
];

/// Skip-level: how the organisation is doing, seen from closer to the work.
pub const DEFAULT_SKIP_LEVEL_PROMPTS: &[&str] = &[
    "What is getting in the way of your team doing its best work?",
    "What do you hear from the team that leadership might not?",
    "Which decision from above was hard to understand, and why?",
    "What should we start, stop or keep doing as an organisation?",
    "How is the team's workload and morale, honestly?",
    "Is there anything your manager could use more support with?",
];

/// Peers: working together across the same team.
pub const DEFAULT_PEER_PROMPTS: &[&str] = &[
    "Where could we help each other more over the next few weeks?",
    "Is there a hand-off between us that keeps causing friction?",
    "What are you working on that I should know about?",
    "What have you learned recently that would help me?",
];

impl Default for RelationPrompts {
    fn default() -> Self {
        let owned = |prompts: &[&str]| prompts.iter().map(|p| p.to_string()).collect();
        RelationPrompts {
            manager_report: owned(DEFAULT_MANAGER_REPORT_PROMPTS),
            skip_level: owned(DEFAULT_SKIP_LEVEL_PROMPTS),
            peer: owned(DEFAULT_PEER_PROMPTS),
        }
    }
}

const ORG_NAME_EXPECTED: &str = "letters, digits, _ and - only, such as \"acme\"";
const GROUP_EXPECTED: &str = "a group address such as \"managers@example.com\" or a group id";

impl Validator<'_> {
    /// Checks `[brief.relation_prompts]`.
    pub(super) fn relation_prompts(
        &mut self,
        raw: Option<&Spanned<RawRelationPrompts>>,
    ) -> RelationPrompts {
        let mut prompts = RelationPrompts::default();
        let Some(raw) = raw.map(Spanned::get_ref) else {
            return prompts;
        };
        for (list, value, key) in [
            (
                &mut prompts.manager_report,
                &raw.manager_report,
                "brief.relation_prompts.manager_report",
            ),
            (
                &mut prompts.skip_level,
                &raw.skip_level,
                "brief.relation_prompts.skip_level",
            ),
            (&mut prompts.peer, &raw.peer, "brief.relation_prompts.peer"),
        ] {
            if let Some(value) = value {
                *list = self.texts(Some(value.get_ref()), key);
            }
        }
        prompts
    }

    /// Checks every `[[orgs]]`; `account_names` are the configured accounts' names,
    /// which an org's name must not repeat.
    pub(super) fn orgs(
        &mut self,
        raw: Option<&Vec<Spanned<RawOrg>>>,
        account_names: &[String],
    ) -> Vec<OrgConfig> {
        let mut orgs: Vec<OrgConfig> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for (index, spanned) in raw.into_iter().flatten().enumerate() {
            if let Some(org) = self.org(index, spanned, &mut names, account_names) {
                orgs.push(org);
            }
        }
        orgs
    }

    fn org_name(
        &mut self,
        spanned: &Spanned<RawOrg>,
        key: &str,
        names: &mut Vec<String>,
        account_names: &[String],
    ) -> Option<String> {
        let Some(value) = &spanned.get_ref().name else {
            self.error(spanned.span(), key, "missing `name`", "name = \"acme\"");
            return None;
        };
        let name = value.get_ref().trim();
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let key = format!("{key}.name");
        if !valid {
            self.error(
                value.span(),
                &key,
                format!("invalid org name \"{name}\""),
                ORG_NAME_EXPECTED,
            );
            return None;
        }
        if names.iter().any(|n| n == name) {
            self.error(
                value.span(),
                &key,
                format!("org name \"{name}\" is already used by an earlier org"),
                "a unique name per org",
            );
            return None;
        }
        if account_names.iter().any(|n| n == name) {
            self.error(
                value.span(),
                &key,
                format!("\"{name}\" is already the name of an account"),
                "a name no [[accounts]] entry uses",
            );
            return None;
        }
        names.push(name.to_string());
        Some(name.to_string())
    }

    fn org(
        &mut self,
        index: usize,
        spanned: &Spanned<RawOrg>,
        names: &mut Vec<String>,
        account_names: &[String],
    ) -> Option<OrgConfig> {
        let key = format!("orgs[{index}]");
        let k = |field: &str| format!("{key}.{field}");
        let o = spanned.get_ref();
        let name = self.org_name(spanned, &key, names, account_names);
        let provider = match &o.provider {
            None => {
                self.error(
                    spanned.span(),
                    &key,
                    "missing `provider`",
                    "provider = \"google\" or \"microsoft\"",
                );
                None
            }
            Some(value) => match self.choice(value, &k("provider"), &["google", "microsoft"]) {
                Some("google") => Some(Provider::Google),
                Some(_) => Some(Provider::Microsoft),
                None => None,
            },
        };
        let people = self.org_emails(o.people.as_ref(), &k("people"));
        let exclude = self.org_emails(o.exclude.as_ref(), &k("exclude"));
        let groups = self.groups(o.groups.as_ref(), &k("groups"));
        let domain = o
            .domain
            .as_ref()
            .and_then(|value| self.org_domain(value, &k("domain")));
        if o.people.is_none() && o.groups.is_none() && o.domain.is_none() {
            self.error(
                spanned.span(),
                &key,
                "covers nobody: set people, groups or domain",
                "people = [\"ana@example.com\"], groups = [\"managers@example.com\"] or domain = \"example.com\"",
            );
        }
        let calendars = self.calendars(o.calendars.as_ref(), &k("calendars"));
        let poll_interval = self.poll_interval(o.poll_interval.as_ref(), &k("poll_interval"));
        let directory_refresh = self.duration(
            o.directory_refresh.as_ref(),
            &k("directory_refresh"),
            DEFAULT_DIRECTORY_REFRESH,
            MAX_DIRECTORY_REFRESH,
        );
        if directory_refresh < MIN_DIRECTORY_REFRESH
            && let Some(value) = &o.directory_refresh
        {
            self.error(
                value.span(),
                &k("directory_refresh"),
                format!(
                    "reading the directory every {} is too often",
                    super::format_duration(directory_refresh)
                ),
                "at least \"1h\"",
            );
        }
        let api_base_url = self.org_url(o.api_base_url.as_ref(), &k("api_base_url"));
        let token_url = self.org_url(o.token_url.as_ref(), &k("token_url"));
        let credential = match provider {
            Some(Provider::Google) => self.google_org(&key, spanned),
            Some(_) => self.microsoft_org(&key, spanned),
            None => None,
        };
        let admin = match provider {
            Some(Provider::Google) => {
                let admin = o.admin.as_ref().and_then(|v| self.email(v, &k("admin")));
                if o.admin.is_none() && (o.groups.is_some() || o.domain.is_some()) {
                    self.error(
                        spanned.span(),
                        &key,
                        "missing `admin`: groups and domain are read from Google's directory as an administrator",
                        "admin = the address of a Workspace administrator, such as \"it-admin@example.com\"",
                    );
                }
                admin
            }
            _ => None,
        };
        let notify = o
            .notify
            .as_ref()
            .and_then(|v| self.email(v, &k("notify")))
            .or_else(|| admin.clone());
        let tenant = (provider == Some(Provider::Microsoft))
            .then(|| self.org_tenant(&key, spanned))
            .flatten();
        let directory_base_url = if provider == Some(Provider::Google) {
            self.org_url(o.directory_base_url.as_ref(), &k("directory_base_url"))
        } else {
            None
        };
        Some(OrgConfig {
            name: name?,
            provider: provider?,
            credential: credential?,
            admin,
            notify,
            tenant,
            people,
            groups,
            domain,
            exclude,
            calendars,
            poll_interval,
            directory_refresh,
            api_base_url,
            directory_base_url,
            token_url,
        })
    }

    fn org_emails(&mut self, values: Option<&Vec<S>>, key: &str) -> Vec<String> {
        let mut emails: Vec<String> = Vec::new();
        for (i, value) in values.into_iter().flatten().enumerate() {
            if let Some(email) = self.email(value, &format!("{key}[{i}]"))
                && !emails.contains(&email)
            {
                emails.push(email);
            }
        }
        emails
    }

    fn groups(&mut self, values: Option<&Vec<S>>, key: &str) -> Vec<String> {
        let mut groups = Vec::new();
        for (i, value) in values.into_iter().flatten().enumerate() {
            let text = value.get_ref().trim();
            let valid = !text.is_empty()
                && !text
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || "/?#'\"\\".contains(c));
            if valid {
                groups.push(text.to_lowercase());
            } else {
                self.error(
                    value.span(),
                    &format!("{key}[{i}]"),
                    format!("\"{text}\" is not a group address or id"),
                    GROUP_EXPECTED,
                );
            }
        }
        groups
    }

    fn org_domain(&mut self, value: &S, key: &str) -> Option<String> {
        match super::validate::check_domain(value.get_ref()) {
            Ok(domain) => Some(domain),
            Err(message) => {
                self.error(value.span(), key, message, super::validate::DOMAIN_EXPECTED);
                None
            }
        }
    }

    fn org_url(&mut self, value: Option<&S>, key: &str) -> Option<String> {
        self.http_url(value, key)
    }

    fn google_org(&mut self, key: &str, spanned: &Spanned<RawOrg>) -> Option<OrgCredential> {
        let k = |field: &str| format!("{key}.{field}");
        let o = spanned.get_ref();
        let why = "to google orgs (they use a service account key)";
        self.not_applicable(o.client_id.as_ref(), &k("client_id"), why);
        self.not_applicable(o.client_secret_file.as_ref(), &k("client_secret_file"), why);
        self.not_applicable(
            o.client_certificate_file.as_ref(),
            &k("client_certificate_file"),
            why,
        );
        self.not_applicable(o.tenant.as_ref(), &k("tenant"), why);
        let key_file = o
            .service_account_key_file
            .as_ref()
            .and_then(|v| self.checked_path(v, &k("service_account_key_file"), true));
        if o.service_account_key_file.is_some() && key_file.is_none() {
            return None;
        }
        Some(OrgCredential::ServiceAccountKey(key_file))
    }

    fn microsoft_org(&mut self, key: &str, spanned: &Spanned<RawOrg>) -> Option<OrgCredential> {
        let k = |field: &str| format!("{key}.{field}");
        let o = spanned.get_ref();
        let why = "to microsoft orgs (they use an app registration)";
        self.not_applicable(
            o.service_account_key_file.as_ref(),
            &k("service_account_key_file"),
            why,
        );
        self.not_applicable(o.admin.as_ref(), &k("admin"), why);
        self.not_applicable(o.directory_base_url.as_ref(), &k("directory_base_url"), why);
        let client_id = match &o.client_id {
            None => {
                self.error(
                    spanned.span(),
                    key,
                    "missing `client_id`",
                    "client_id = the application (client) id of the app registration",
                );
                None
            }
            Some(value) => self.text(value, &k("client_id")),
        };
        let secret = o
            .client_secret_file
            .as_ref()
            .and_then(|v| self.checked_path(v, &k("client_secret_file"), true));
        let certificate = o
            .client_certificate_file
            .as_ref()
            .and_then(|v| self.checked_path(v, &k("client_certificate_file"), true));
        match (&o.client_secret_file, &o.client_certificate_file) {
            (Some(_), Some(value)) => {
                self.error(
                    value.span(),
                    &k("client_certificate_file"),
                    "set either client_secret_file or client_certificate_file, not both",
                    "",
                );
                None
            }
            (None, None) => {
                self.error(
                    spanned.span(),
                    key,
                    "missing the app's credential",
                    "client_certificate_file = a PEM file with the certificate and its key (or client_secret_file)",
                );
                None
            }
            (Some(_), None) => Some(OrgCredential::ClientSecret {
                client_id: client_id?,
                secret_file: secret?,
            }),
            (None, Some(_)) => Some(OrgCredential::ClientCertificate {
                client_id: client_id?,
                certificate_file: certificate?,
            }),
        }
    }

    fn org_tenant(&mut self, key: &str, spanned: &Spanned<RawOrg>) -> Option<String> {
        let Some(value) = &spanned.get_ref().tenant else {
            self.error(
                spanned.span(),
                key,
                "missing `tenant`: app-only tokens are issued by one tenant",
                "tenant = the directory (tenant) id or a domain such as \"example.onmicrosoft.com\"",
            );
            return None;
        };
        let tenant = value.get_ref().trim();
        let valid = !tenant.is_empty()
            && tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        let shared = ["common", "organizations", "consumers"].contains(&tenant);
        if !valid || shared {
            let message = if shared {
                format!(
                    "\"{tenant}\" is not one tenant: app-only tokens need the organisation's own"
                )
            } else {
                format!("invalid tenant \"{tenant}\"")
            };
            self.error(
                value.span(),
                &format!("{key}.tenant"),
                message,
                "the directory (tenant) id or a domain such as \"example.onmicrosoft.com\"",
            );
            return None;
        }
        Some(tenant.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> OrgConfig {
        OrgConfig {
            name: "acme".into(),
            provider: Provider::Google,
            credential: OrgCredential::ServiceAccountKey(None),
            admin: Some("admin@acme.test".into()),
            notify: None,
            tenant: None,
            people: vec!["dana@acme.test".into()],
            groups: Vec::new(),
            domain: None,
            exclude: vec!["ceo@acme.test".into()],
            calendars: vec!["primary".into()],
            poll_interval: crate::config::DEFAULT_POLL_INTERVAL,
            directory_refresh: DEFAULT_DIRECTORY_REFRESH,
            api_base_url: None,
            directory_base_url: None,
            token_url: None,
        }
    }

    #[test]
    fn a_person_account_is_named_after_the_org_and_owned_by_the_person() {
        let account = org().account_for("dana@acme.test");
        assert_eq!(account.name, "acme/dana@acme.test");
        assert_eq!(account.owner.as_deref(), Some("dana@acme.test"));
        assert_eq!(account.org.as_deref(), Some("acme"));
        assert_eq!(account.calendars, ["primary"]);
    }

    #[test]
    fn exclusion_ignores_case_and_spaces() {
        assert!(org().excludes(" CEO@acme.test"));
        assert!(!org().excludes("dana@acme.test"));
    }
}
