//! Integration tests: context. Action items and notes through the command logic on a
//! real store, and a description harvested the way a pass does it.

use chrono::{DateTime, TimeZone, Utc};
use std::process::ExitCode;

use tete::cli::Failure;
use tete::cli::items::{self, ItemsAction};
use tete::cli::notes::{self, NotesAction};
use tete::context::{
    self, ActionItem, ItemState, SeriesInfo, description_to_text, harvest, parse_description,
    visible_to,
};
use tete::model::{Person, SeriesId};
use tete::store::{Store, StoreOptions};

const SERIES: &str = "3f9a0c21e4";
const OWNER: &str = "dana@example.com";
const REPORT: &str = "zoe@example.com";

fn info() -> SeriesInfo {
    SeriesInfo {
        id: SeriesId(SERIES.into()),
        context: SeriesId(SERIES.into()),
        title: "Dana / Zoë".into(),
        participants: vec![
            Person {
                email: OWNER.into(),
                name: Some("Dana Kim".into()),
            },
            Person {
                email: REPORT.into(),
                name: Some("Zoë Brontë".into()),
            },
        ],
        owner: OWNER.into(),
    }
}

fn lookup(typed: &str) -> Option<SeriesInfo> {
    (typed == SERIES || typed == "uid-1@example.com").then(info)
}

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, 9, 0, 0).unwrap()
}

fn open_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    (dir, store)
}

fn items_cmd(store: &Store, action: ItemsAction, day: u32) -> anyhow::Result<String> {
    let mut out = Vec::new();
    let code = items::execute(store, action, &lookup, at(day), &mut out)?;
    assert_eq!(code, ExitCode::SUCCESS);
    Ok(String::from_utf8(out).unwrap())
}

fn notes_cmd(store: &Store, action: NotesAction, day: u32) -> anyhow::Result<String> {
    let mut out = Vec::new();
    let code = notes::execute(store, action, &lookup, at(day), &mut out)?;
    assert_eq!(code, ExitCode::SUCCESS);
    Ok(String::from_utf8(out).unwrap())
}

fn list_json(store: &Store) -> Vec<ActionItem> {
    let json = items_cmd(
        store,
        ItemsAction::List {
            series: SERIES.into(),
            json: true,
        },
        20,
    )
    .unwrap();
    serde_json::from_str(&json).unwrap()
}

fn exit_code(error: anyhow::Error) -> u8 {
    error.downcast_ref::<Failure>().expect("a Failure").code
}

#[test]
fn items_are_added_done_reopened_and_listed_through_the_cli_logic() {
    let (_dir, store) = open_store();
    let added = items_cmd(
        &store,
        ItemsAction::Add {
            series: "uid-1@example.com".into(),
            text: "Send the  offsite doc".into(),
            owner: Some("Zoe@Example.com".into()),
        },
        3,
    )
    .unwrap();
    let listed = list_json(&store);
    assert_eq!(listed.len(), 1);
    let id = listed[0].id.0.clone();
    assert!(added.contains(&id), "{added}");
    assert_eq!(listed[0].owner.as_deref(), Some(REPORT));
    assert_eq!(listed[0].text, "Send the offsite doc");

    items_cmd(&store, ItemsAction::Done { id: id.clone() }, 5).unwrap();
    assert!(
        matches!(list_json(&store)[0].state, ItemState::Done { at: when, .. } if when == at(5))
    );

    let again = items_cmd(&store, ItemsAction::Done { id: id.clone() }, 6).unwrap();
    assert!(again.contains("already done"), "{again}");

    items_cmd(
        &store,
        ItemsAction::Reopen {
            id: id.to_uppercase(),
        },
        7,
    )
    .unwrap();
    let item = &list_json(&store)[0];
    assert!(item.is_open());
    assert_eq!(item.cli_changed_at, Some(at(7)));

    let table = items_cmd(
        &store,
        ItemsAction::List {
            series: SERIES.into(),
            json: false,
        },
        20,
    )
    .unwrap();
    assert!(table.contains(&id) && table.contains("open"), "{table}");
}

#[test]
fn done_or_reopen_of_an_unknown_id_fails_with_exit_1_naming_it() {
    let (_dir, store) = open_store();
    let error = items_cmd(
        &store,
        ItemsAction::Done {
            id: "deadbeef".into(),
        },
        3,
    )
    .unwrap_err();
    assert!(error.to_string().contains("deadbeef"));
    assert_eq!(exit_code(error), 1);
    let error = items_cmd(&store, ItemsAction::Reopen { id: "cafe".into() }, 3).unwrap_err();
    assert_eq!(exit_code(error), 1);
}

#[test]
fn an_owner_outside_the_pair_is_refused() {
    let (_dir, store) = open_store();
    let error = items_cmd(
        &store,
        ItemsAction::Add {
            series: SERIES.into(),
            text: "x".into(),
            owner: Some("boss@example.com".into()),
        },
        3,
    )
    .unwrap_err();
    assert_eq!(exit_code(error), 1);
    assert!(list_json(&store).is_empty());
}

#[test]
fn private_notes_are_the_owners_and_reach_nobody_else() {
    let (_dir, store) = open_store();
    notes_cmd(
        &store,
        NotesAction::Add {
            series: SERIES.into(),
            text: "Zoë seems stretched thin".into(),
            private: true,
        },
        3,
    )
    .unwrap();
    notes_cmd(
        &store,
        NotesAction::Add {
            series: SERIES.into(),
            text: "Agreed to move the offsite".into(),
            private: false,
        },
        4,
    )
    .unwrap();
    let notes = store.notes(&info().id).unwrap();
    assert_eq!(notes.len(), 2);
    let private = notes.iter().find(|n| n.private).unwrap();
    assert_eq!(private.author, OWNER);
    assert!(visible_to(private, OWNER, OWNER));
    assert!(!visible_to(private, REPORT, OWNER));
    let shared = notes.iter().find(|n| !n.private).unwrap();
    assert!(visible_to(shared, REPORT, OWNER));

    // The owner at the command line sees both, the private one marked.
    let listed = notes_cmd(
        &store,
        NotesAction::List {
            series: SERIES.into(),
        },
        5,
    )
    .unwrap();
    assert!(
        listed.contains("[private] Zoë seems stretched thin"),
        "{listed}"
    );
    assert!(listed.contains("Agreed to move the offsite"), "{listed}");

    let error = notes_cmd(
        &store,
        NotesAction::List {
            series: "unknown".into(),
        },
        5,
    )
    .unwrap_err();
    assert_eq!(exit_code(error), 1);
}

#[test]
fn items_from_html_descriptions_carry_over_until_done_and_cli_changes_stick() {
    let (_dir, store) = open_store();
    let people = info().participants;
    let series = info().id;
    let week1 = description_to_text(
        "<b>Action items</b><ul><li>Dana: send the offsite doc</li>\
         <li><input type=\"checkbox\"> @zoe book the room</li></ul>",
    );
    let week2 = description_to_text("Notes:<br>went well<br>- [x] Zoë: book the room");
    let observed = vec![
        (at(3), parse_description(&week1, &people)),
        (at(10), parse_description(&week2, &people)),
    ];
    let items = harvest(&series, &store.items(&series).unwrap(), &observed, at(11));
    store.save_items(&series, &items).unwrap();

    let stored = store.items(&series).unwrap();
    assert_eq!(stored.len(), 2);
    let doc = stored
        .iter()
        .find(|i| i.text == "send the offsite doc")
        .unwrap();
    assert!(doc.is_open(), "disappeared in week 2 but never done");
    assert_eq!(doc.owner.as_deref(), Some(OWNER));
    let room = stored.iter().find(|i| i.text == "book the room").unwrap();
    assert!(!room.is_open());
    assert_eq!(room.owner.as_deref(), Some(REPORT));

    let notes = context::description_notes(&series, at(10), &observed[1].1, OWNER, at(11));
    for note in &notes {
        store.add_note(note).unwrap();
        assert!(
            !store.add_note(note).unwrap(),
            "harvested twice, stored once"
        );
    }
    assert_eq!(store.notes(&series).unwrap().len(), 1);

    // The owner reopens the room from the CLI; the old checkbox does not close it again.
    items_cmd(
        &store,
        ItemsAction::Reopen {
            id: room.id.0.clone(),
        },
        12,
    )
    .unwrap();
    let items = harvest(&series, &store.items(&series).unwrap(), &observed, at(13));
    store.save_items(&series, &items).unwrap();
    assert!(store.item(&room.id.0).unwrap().unwrap().is_open());
}
