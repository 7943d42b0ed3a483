//! `tete items <list|add|done|reopen>`: action items of a series.
//!
//! [`execute`] holds the command logic on an open store, so tests and the daemon's
//! socket handler run exactly what the CLI runs; [`run`] wires config and store to it.

use chrono::{DateTime, Utc};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use super::Failure;
use crate::context::{ActionItem, ItemState, SeriesInfo, Source, email_key};
use crate::store::Store;

/// Arguments of `tete items`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub action: ItemsAction,
}

/// `tete items` subcommands.
#[derive(Debug, clap::Subcommand, serde::Serialize, serde::Deserialize)]
pub enum ItemsAction {
    /// List the items of a series (open first).
    List {
        /// Series id or UID.
        series: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add an item to a series.
    Add {
        /// Series id or UID.
        series: String,
        /// The item text.
        text: String,
        /// Who owns it (one of the two participants).
        #[arg(long, value_name = "EMAIL")]
        owner: Option<String>,
    },
    /// Mark an item done.
    Done {
        /// Item id (from `items list`).
        id: String,
    },
    /// Reopen a done item.
    Reopen {
        /// Item id (from `items list`).
        id: String,
    },
}

/// Runs the command.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    super::control::run(
        config_path,
        None,
        super::control::Forwarded::Items(args.action),
        |_| Ok(()),
    )
}

/// Runs `action` on an open store. `series_lookup` resolves what the user typed (a
/// series id or UID); `now` is the time of the change. Unknown series or ids and an
/// owner who is not one of the two people are [`Failure`]s (exit 1).
pub fn execute(
    store: &Store,
    action: ItemsAction,
    series_lookup: &dyn Fn(&str) -> Option<SeriesInfo>,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    match action {
        ItemsAction::List { series, json } => {
            let info = lookup(series_lookup, &series)?;
            let mut items = store.items(&info.context)?;
            // Open first, then oldest first: what still needs doing leads.
            items.sort_by(|a, b| {
                b.is_open()
                    .cmp(&a.is_open())
                    .then(a.first_seen.cmp(&b.first_seen))
                    .then(a.id.cmp(&b.id))
            });
            if json {
                serde_json::to_writer_pretty(&mut *out, &items)?;
                writeln!(out)?;
            } else {
                write_table(out, &info, &items)?;
            }
        }
        ItemsAction::Add {
            series,
            text,
            owner,
        } => {
            let info = lookup(series_lookup, &series)?;
            if text.trim().is_empty() {
                return Err(Failure::failed("the item text is empty").into());
            }
            let owner = owner.map(|o| check_owner(&info, &o)).transpose()?;
            let item = ActionItem::from_cli(&info.context, &text, owner, now);
            match store.add_item(&item)? {
                None => writeln!(out, "Added {}: {}", item.id, item.text)?,
                Some(existing) if existing.is_open() => {
                    writeln!(out, "Already open as {}: {}", existing.id, existing.text)?
                }
                Some(existing) => writeln!(
                    out,
                    "Already there as {} and done; `tete items reopen {}` reopens it.",
                    existing.id, existing.id
                )?,
            }
        }
        ItemsAction::Done { id } => {
            let done = ItemState::Done {
                at: now,
                by: Source::Cli,
            };
            change_state(store, &id, done, now, out)?;
        }
        ItemsAction::Reopen { id } => {
            change_state(store, &id, ItemState::Open, now, out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Resolves the series the user typed, or fails naming it.
pub(crate) fn lookup(
    series_lookup: &dyn Fn(&str) -> Option<SeriesInfo>,
    series: &str,
) -> Result<SeriesInfo, Failure> {
    series_lookup(series).ok_or_else(|| {
        Failure::failed(format!(
            "unknown series '{series}'; `tete series` lists the 1:1 series and their ids"
        ))
    })
}

/// The owner's normalized address if it is one of the two people of the series.
fn check_owner(info: &SeriesInfo, owner: &str) -> Result<String, Failure> {
    let owner = email_key(owner);
    if info
        .participants
        .iter()
        .any(|p| email_key(&p.email) == owner)
    {
        return Ok(owner);
    }
    let people: Vec<String> = info
        .participants
        .iter()
        .map(|p| email_key(&p.email))
        .collect();
    Err(Failure::failed(format!(
        "{owner} is not one of the two people of \"{}\" ({}); the owner must be one of them",
        info.title,
        people.join(", ")
    )))
}

/// Marks an item done or open from the command line; an item already in that state
/// is left alone (its dates stay as they were).
fn change_state(
    store: &Store,
    id: &str,
    state: ItemState,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let word = if state.is_open() { "open" } else { "done" };
    let Some(item) = store.item(id)? else {
        return Err(Failure::failed(format!(
            "no action item with id '{id}'; `tete items list <series>` shows the ids"
        ))
        .into());
    };
    if item.state.is_open() == state.is_open() {
        writeln!(out, "{} is already {word}: {}", item.id, item.text)?;
        return Ok(());
    }
    match store.set_item_state(id, state, now)? {
        Some(item) => writeln!(out, "Marked {} {word}: {}", item.id, item.text)?,
        None => {
            return Err(Failure::failed(format!("no action item with id '{id}'")).into());
        }
    }
    Ok(())
}

/// A readable table: id, state, owner, since, text.
fn write_table(
    out: &mut dyn Write,
    info: &SeriesInfo,
    items: &[ActionItem],
) -> std::io::Result<()> {
    if items.is_empty() {
        return writeln!(
            out,
            "No action items for \"{}\" ({}) yet.",
            info.title, info.id
        );
    }
    writeln!(out, "Action items of \"{}\" ({})", info.title, info.id)?;
    let rows: Vec<[String; 5]> = items
        .iter()
        .map(|item| {
            let state = match item.state {
                ItemState::Open => "open".to_string(),
                ItemState::Done { at, .. } => format!("done {}", at.format("%Y-%m-%d")),
            };
            [
                item.id.to_string(),
                state,
                item.owner.clone().unwrap_or_else(|| "-".to_string()),
                item.first_seen.format("%Y-%m-%d").to_string(),
                item.text.clone(),
            ]
        })
        .collect();
    let header = ["ID", "STATE", "OWNER", "SINCE", "TEXT"].map(str::to_string);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (width, cell) in widths.iter().zip(row) {
            line.push_str(cell);
            line.push_str(&" ".repeat(width - cell.chars().count() + 2));
        }
        line.push_str(&row[4]);
        writeln!(out, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Person, SeriesId};
    use crate::store::StoreOptions;
    use chrono::TimeZone;

    fn info() -> SeriesInfo {
        SeriesInfo {
            id: SeriesId("3f9a0c21e4".into()),
            context: SeriesId("3f9a0c21e4".into()),
            title: "Dana / Zoë".into(),
            participants: vec![
                Person {
                    email: "dana@example.com".into(),
                    name: Some("Dana".into()),
                },
                Person {
                    email: "zoe@example.com".into(),
                    name: None,
                },
            ],
            owner: "dana@example.com".into(),
        }
    }

    fn lookup_fn(typed: &str) -> Option<SeriesInfo> {
        (typed == "3f9a0c21e4").then(info)
    }

    fn run(store: &Store, action: ItemsAction) -> (anyhow::Result<ExitCode>, String) {
        let mut out = Vec::new();
        let now = Utc.with_ymd_and_hms(2026, 11, 3, 9, 0, 0).unwrap();
        let result = execute(store, action, &lookup_fn, now, &mut out);
        (result, String::from_utf8(out).unwrap())
    }

    fn failure_code(result: anyhow::Result<ExitCode>) -> u8 {
        result.unwrap_err().downcast_ref::<Failure>().unwrap().code
    }

    #[test]
    fn table_lists_open_items_first_with_aligned_columns() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let add = |text: &str| ItemsAction::Add {
            series: "3f9a0c21e4".into(),
            text: text.into(),
            owner: Some("ZOE@example.com".into()),
        };
        run(&store, add("first")).0.unwrap();
        run(&store, add("second")).0.unwrap();
        let id = store.items(&info().id).unwrap()[0].id.clone();
        let first = store.items(&info().id).unwrap()[0].text.clone();
        run(&store, ItemsAction::Done { id: id.0 }).0.unwrap();
        let (result, text) = run(
            &store,
            ItemsAction::List {
                series: "3f9a0c21e4".into(),
                json: false,
            },
        );
        result.unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("ID        STATE"), "{text}");
        assert!(lines[2].contains("open"), "{text}");
        assert!(lines[3].contains("done 2026-11-03"), "{text}");
        assert!(lines[3].ends_with(&first), "{text}");
        assert!(lines[2].contains("zoe@example.com"), "{text}");
    }

    #[test]
    fn unknown_series_and_bad_owner_fail_with_exit_1() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let (result, _) = run(
            &store,
            ItemsAction::List {
                series: "nope".into(),
                json: true,
            },
        );
        assert_eq!(failure_code(result), 1);
        let (result, _) = run(
            &store,
            ItemsAction::Add {
                series: "3f9a0c21e4".into(),
                text: "x".into(),
                owner: Some("boss@example.com".into()),
            },
        );
        let message = result.unwrap_err().to_string();
        assert!(
            message.contains("boss@example.com is not one of"),
            "{message}"
        );
        let (result, _) = run(
            &store,
            ItemsAction::Add {
                series: "3f9a0c21e4".into(),
                text: "  ".into(),
                owner: None,
            },
        );
        assert_eq!(failure_code(result), 1);
    }

    #[test]
    fn adding_the_same_text_twice_keeps_one_item() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let add = || ItemsAction::Add {
            series: "3f9a0c21e4".into(),
            text: "Send the doc".into(),
            owner: None,
        };
        run(&store, add()).0.unwrap();
        let (result, text) = run(&store, add());
        result.unwrap();
        assert!(text.starts_with("Already open as"), "{text}");
        assert_eq!(store.items(&info().id).unwrap().len(), 1);
    }
}
