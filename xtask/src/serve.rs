//! `cargo xtask book`: the book built by the pinned mdBook and served by the kit itself, rebuilt on every save.
//!
//! mdBook's own `serve` brings a web server of its own (axum, tokio, tower-http, a file watcher), compiled in
//! release mode on a student's first run: about a minute of two cores for a server we can write in a page of
//! the standard library. So the kit installs mdBook without it, and this module does the serving: a thread per
//! connection over `std::net`, a poll of the book's sources every half second, and a few lines of script in
//! each page that reload it when a new build is ready.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

/// How often the sources are looked at for changes.
const POLL: Duration = Duration::from_millis(500);
/// Where the page asks whether a newer build exists. Its answer is the build's number.
const GENERATION_PATH: &str = "/__kit/generation";
/// Added to every HTML page: it asks for the build's number every second and reloads on a new one.
const RELOAD_SCRIPT: &str = "<script>(() => { let seen = null; setInterval(async () => { try { \
    const generation = await (await fetch('/__kit/generation', { cache: 'no-store' })).text(); \
    if (seen !== null && generation !== seen) location.reload(); seen = generation; } catch (_) {} }, 1000); \
    })();</script>";

/// What the server reads from: the folder of the newest good build, and its number.
struct Current {
    folder: RwLock<PathBuf>,
    generation: AtomicU64,
}

/// Builds the book, serves it on 127.0.0.1:`port`, and rebuilds it whenever one of its sources changes.
/// `build` writes a complete book into the folder it is given. Runs until the process is stopped.
pub fn serve(
    book_dir: &Path,
    watched: Vec<PathBuf>,
    port: u16,
    build: impl Fn(&Path) -> Result<()> + Send + 'static,
) -> Result<()> {
    let builds = book_dir.join("build").join("served");
    // Builds of an earlier run are stale: start from nothing.
    let _ = std::fs::remove_dir_all(&builds);
    let first = builds.join("1");
    build(&first)?;
    let current = Arc::new(Current { folder: RwLock::new(first), generation: AtomicU64::new(1) });

    let listener = TcpListener::bind(("127.0.0.1", port))
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}; is it in use? Try --port with another number"))?;
    let address = listener.local_addr().context("the listening socket has no address")?;
    println!("serving the book at http://{address}/  (Ctrl-C to stop; pages reload when you save a change)");

    let watcher = Arc::clone(&current);
    std::thread::spawn(move || rebuild_on_change(&builds, &watched, &watcher, &build));

    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let current = Arc::clone(&current);
        std::thread::spawn(move || {
            // A browser that hangs up early is no error of ours.
            let _ = answer(stream, &current);
        });
    }
    Ok(())
}

fn rebuild_on_change(builds: &Path, watched: &[PathBuf], current: &Current, build: &impl Fn(&Path) -> Result<()>) {
    let mut seen = snapshot(watched);
    loop {
        std::thread::sleep(POLL);
        let now = snapshot(watched);
        if now == seen {
            continue;
        }
        seen = now;
        let generation = current.generation.load(Ordering::SeqCst) + 1;
        let folder = builds.join(generation.to_string());
        match build(&folder) {
            Ok(()) => {
                let previous =
                    std::mem::replace(&mut *current.folder.write().unwrap_or_else(|e| e.into_inner()), folder);
                current.generation.store(generation, Ordering::SeqCst);
                println!("rebuilt the book (build {generation})");
                // A page being read from the previous build has what it needs already; the folder can go.
                let _ = std::fs::remove_dir_all(previous);
            }
            // The pages keep showing the last good build while the error is fixed.
            Err(error) => println!("the book did not build; still serving the last good build:\n{error:#}"),
        }
    }
}

/// Every file under the watched folders, with its size and modification time.
fn snapshot(watched: &[PathBuf]) -> BTreeMap<PathBuf, (u64, Option<SystemTime>)> {
    let mut files = BTreeMap::new();
    let mut pending: Vec<PathBuf> = watched.to_vec();
    while let Some(path) = pending.pop() {
        let Ok(metadata) = std::fs::metadata(&path) else { continue };
        if metadata.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                pending.extend(entries.flatten().map(|entry| entry.path()));
            }
        } else {
            files.insert(path, (metadata.len(), metadata.modified().ok()));
        }
    }
    files
}

fn answer(stream: TcpStream, current: &Current) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // The headers say nothing this server needs; read them so the browser sees its request consumed.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return respond(stream, "405 Method Not Allowed", "text/plain", b"only GET and HEAD\n", head_only);
    }
    let path = target.split(['?', '#']).next().unwrap_or("/");
    if path == GENERATION_PATH {
        let generation = current.generation.load(Ordering::SeqCst).to_string();
        return respond(stream, "200 OK", "text/plain", generation.as_bytes(), head_only);
    }
    let folder = current.folder.read().unwrap_or_else(|e| e.into_inner()).clone();
    let Some(file) = resolve(&folder, path) else {
        return not_found(stream, &folder, head_only);
    };
    if file.is_dir() {
        // `/chapter` to `/chapter/`, so the page's relative links resolve as mdBook wrote them.
        let location = format!("{path}/");
        let response = format!(
            "HTTP/1.1 301 Moved Permanently\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        return (&stream).write_all(response.as_bytes());
    }
    match std::fs::read(&file) {
        Ok(body) => {
            let content_type = content_type(&file);
            let body = if content_type.starts_with("text/html") { with_reload_script(body) } else { body };
            respond(stream, "200 OK", content_type, &body, head_only)
        }
        Err(_) => not_found(stream, &folder, head_only),
    }
}

/// The file a request path names inside the build, or `None` for a path that tries to leave it.
fn resolve(folder: &Path, path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(path)?;
    let relative = Path::new(decoded.trim_start_matches('/'));
    if relative.components().any(|component| !matches!(component, Component::Normal(_))) {
        return None;
    }
    let file = folder.join(relative);
    Some(if decoded.ends_with('/') { file.join("index.html") } else { file })
}

/// `%20` and the like; `None` for an escape that is not one.
fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = std::str::from_utf8(bytes.get(index + 1..index + 3)?).ok()?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

fn with_reload_script(page: Vec<u8>) -> Vec<u8> {
    let page = String::from_utf8_lossy(&page);
    match page.rfind("</body>") {
        Some(end) => format!("{}{RELOAD_SCRIPT}{}", &page[..end], &page[end..]).into_bytes(),
        None => format!("{page}{RELOAD_SCRIPT}").into_bytes(),
    }
}

fn not_found(stream: TcpStream, folder: &Path, head_only: bool) -> std::io::Result<()> {
    match std::fs::read(folder.join("404.html")) {
        Ok(page) => respond(stream, "404 Not Found", "text/html; charset=utf-8", &page, head_only),
        Err(_) => respond(stream, "404 Not Found", "text/plain", b"not found\n", head_only),
    }
}

fn respond(
    mut stream: TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    head_only: bool,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|extension| extension.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_stays_inside_the_build() {
        let folder = Path::new("/book");
        assert_eq!(resolve(folder, "/"), Some(PathBuf::from("/book/index.html")));
        assert_eq!(resolve(folder, "/ch01.html"), Some(PathBuf::from("/book/ch01.html")));
        assert_eq!(resolve(folder, "/css/my%20file.css"), Some(PathBuf::from("/book/css/my file.css")));
        assert_eq!(resolve(folder, "/../secret"), None);
        assert_eq!(resolve(folder, "/css/%2e%2e/%2e%2e/secret"), None);
        assert_eq!(resolve(folder, "/bad%zz"), None);
    }

    #[test]
    fn every_page_gets_the_reload_script_before_its_end() {
        let page = with_reload_script(b"<html><body>hi</body></html>".to_vec());
        let page = String::from_utf8(page).unwrap();
        assert!(page.starts_with("<html><body>hi<script>"), "{page}");
        assert!(page.ends_with("</script></body></html>"), "{page}");
        assert!(page.contains(GENERATION_PATH));
    }
}
