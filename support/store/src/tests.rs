use super::*;

fn entry<'a>(name: &'a str, text: &'a str) -> Entry<'a> {
    Entry { room: "lobby", name, text, client_offset: None }
}

fn texts(messages: &[Stored]) -> Vec<&str> {
    messages.iter().map(|message| message.text.as_str()).collect()
}

fn offsets(messages: &[Stored]) -> Vec<u64> {
    messages.iter().map(|message| message.offset).collect()
}

#[tokio::test]
async fn offsets_start_at_one_and_grow_by_one() {
    let store = Store::in_memory();
    assert_eq!(store.last_offset().await.unwrap(), 0);
    for expected in 1..=3 {
        let appended = store.append(entry("alice", &format!("message {expected}"))).await.unwrap();
        assert_eq!(appended, Appended::New(expected));
    }
    assert_eq!(store.last_offset().await.unwrap(), 3);
}

#[tokio::test]
async fn after_reads_oldest_first_from_the_next_offset_on() {
    let store = Store::in_memory();
    for text in ["one", "two", "three", "four"] {
        store.append(entry("alice", text)).await.unwrap();
    }
    let all = store.after(0, 100).await.unwrap();
    assert_eq!(texts(&all), ["one", "two", "three", "four"]);
    assert_eq!(all[0], Stored { offset: 1, room: "lobby".into(), name: "alice".into(), text: "one".into() });
    assert_eq!(offsets(&store.after(2, 100).await.unwrap()), [3, 4]);
    assert_eq!(offsets(&store.after(1, 2).await.unwrap()), [2, 3], "at most `limit` messages");
    assert!(store.after(4, 100).await.unwrap().is_empty());
    assert!(store.after(u64::MAX, 100).await.unwrap().is_empty());
}

#[tokio::test]
async fn after_in_reads_only_the_rooms_asked_for() {
    let store = Store::in_memory();
    for (room, text) in [("lobby", "a"), ("rust", "b"), ("lobby", "c"), ("user:bob", "d")] {
        store.append(Entry { room, ..entry("alice", text) }).await.unwrap();
    }
    let rooms = ["lobby".to_owned(), "user:bob".to_owned()];
    assert_eq!(texts(&store.after_in(0, &rooms, 100).await.unwrap()), ["a", "c", "d"]);
    assert_eq!(texts(&store.after_in(1, &rooms, 1).await.unwrap()), ["c"]);
    assert!(store.after_in(0, &[], 100).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_message_sent_twice_with_one_client_offset_is_stored_once() {
    let store = Store::in_memory();
    let first = Entry { client_offset: Some("tab-1:1"), ..entry("alice", "hello") };
    assert_eq!(store.append(first).await.unwrap(), Appended::New(1));
    store.append(entry("bob", "in between")).await.unwrap();
    assert_eq!(store.append(first).await.unwrap(), Appended::Duplicate(1), "the first offset, again");
    // Another sender may use the same number: client offsets are per sender.
    let other = Entry { client_offset: Some("tab-1:1"), ..entry("carol", "hello") };
    assert_eq!(store.append(other).await.unwrap(), Appended::New(3));
    // Messages without a client offset are never duplicates of each other.
    assert_eq!(store.append(entry("bob", "in between")).await.unwrap(), Appended::New(4));
    assert_eq!(texts(&store.after(0, 100).await.unwrap()), ["hello", "in between", "hello", "in between"]);

    let reused = Entry { client_offset: Some("tab-1:1"), ..entry("alice", "something else") };
    let error = store.append(reused).await.unwrap_err();
    assert!(error.to_string().contains("client offset \"tab-1:1\" was sent before with another text"), "{error}");
    assert_eq!(store.last_offset().await.unwrap(), 4, "a refused message takes no offset");
}

#[tokio::test]
async fn a_history_is_imported_in_one_go_and_in_order() {
    let store = Store::in_memory();
    store.append(entry("alice", "first")).await.unwrap();
    let texts_to_import: Vec<String> = (0..500).map(|n| format!("imported {n}")).collect();
    let entries: Vec<Entry> = texts_to_import.iter().map(|text| entry("bob", text)).collect();
    store.append_all(&entries).await.unwrap();
    let all = store.after(0, 1000).await.unwrap();
    assert_eq!(offsets(&all), (1..=501).collect::<Vec<u64>>());
    assert_eq!(all[500].text, "imported 499");
}

#[tokio::test]
async fn a_reopened_file_has_everything_and_goes_on_counting() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("chat.db");
    {
        let store = Store::open(&path).unwrap();
        store.append(entry("alice", "before")).await.unwrap();
        store.append(entry("bob", "the restart")).await.unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(texts(&store.after(0, 100).await.unwrap()), ["before", "the restart"]);
    assert_eq!(store.append(entry("alice", "after")).await.unwrap(), Appended::New(3));
}

#[tokio::test]
async fn an_offset_is_never_handed_out_twice_even_after_a_delete() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("chat.db");
    let store = Store::open(&path).unwrap();
    store.append(entry("alice", "one")).await.unwrap();
    store.append(entry("alice", "two")).await.unwrap();
    // Someone deletes the newest message behind the server's back (a moderator, say).
    Connection::open(&path).unwrap().execute("DELETE FROM messages WHERE id = 2", []).unwrap();
    // Without AUTOINCREMENT the next message would get offset 2 again, and a client that saw "two" would skip it.
    assert_eq!(store.append(entry("alice", "three")).await.unwrap(), Appended::New(3));
    assert_eq!(store.last_offset().await.unwrap(), 3);
}

#[tokio::test]
async fn two_stores_on_one_file_never_share_an_offset() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("chat.db");
    let (first, second) = (Store::open(&path).unwrap(), Store::open(&path).unwrap());
    let writes = (0..50).map(|n| {
        let store = if n % 2 == 0 { first.clone() } else { second.clone() };
        tokio::spawn(async move { store.append(entry("node", &n.to_string())).await.unwrap().offset() })
    });
    let mut offsets: Vec<u64> = Vec::new();
    for write in writes {
        offsets.push(write.await.unwrap());
    }
    offsets.sort_unstable();
    assert_eq!(offsets, (1..=50).collect::<Vec<u64>>());
    assert_eq!(first.after(0, 100).await.unwrap(), second.after(0, 100).await.unwrap(), "one history for both");
}

fn refusal(path: &Path) -> String {
    match Store::open(path) {
        Ok(_) => panic!("{} should have been refused", path.display()),
        Err(error) => error.to_string(),
    }
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("notes.db");
    let notes = "these are my notes, not a database\n".repeat(200);
    std::fs::write(&path, &notes).unwrap();
    let message = refusal(&path);
    assert!(message.contains("notes.db is not an SQLite database"), "{message}");
    assert!(message.contains("--db"), "{message}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), notes, "the file is left as it was");
}

#[test]
fn another_programs_database_is_refused() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("other.db");
    Connection::open(&path).unwrap().execute_batch("CREATE TABLE recipes (name TEXT)").unwrap();
    let message = refusal(&path);
    assert!(message.contains("not this chat's"), "{message}");
}

#[test]
fn a_damaged_database_is_refused_before_the_first_message() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("chat.db");
    {
        let connection = Connection::open(&path).unwrap();
        connection.execute_batch(SCHEMA).unwrap();
        connection
            .execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = 1;"))
            .unwrap();
        let long = "x".repeat(400);
        for _ in 0..200 {
            connection.execute("INSERT INTO messages (room, name, text) VALUES ('lobby', 'a', ?1)", [&long]).unwrap();
        }
    }
    // Scribble over the middle of the file, past its header: pages of the table are now garbage.
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle..middle + 4096].fill(0xA5);
    std::fs::write(&path, bytes).unwrap();
    let message = refusal(&path);
    assert!(message.contains("damaged") || message.contains("corrupt"), "{message}");
}

#[test]
fn a_file_that_cannot_be_opened_is_refused_with_the_reason() {
    let folder = tempfile::tempdir().unwrap();
    let message = refusal(&folder.path().join("no such folder").join("chat.db"));
    assert!(message.contains("check that its folder exists"), "{message}");
    let message = refusal(folder.path());
    assert!(message.contains("cannot"), "{message}");
}

#[test]
fn a_database_of_another_schema_version_is_refused() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("chat.db");
    drop(Store::open(&path).unwrap());
    Connection::open(&path).unwrap().execute_batch("PRAGMA user_version = 7").unwrap();
    let message = refusal(&path);
    assert!(message.contains("another version of the kit (schema 7"), "{message}");
}
