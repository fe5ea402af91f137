//! Reading prompt sets from files: JSON lines (`{"prompt": ...}` or `{"messages": [...]}`) and ShareGPT
//! conversations. A bad line or entry is an error naming `file:line` and what was expected.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::WorkloadError;
use super::target::{ChatMessage, Prompt, PromptBody};

/// Rough token count of real text (about 4 characters per token), at least 1.
pub fn estimate_tokens(text: &str) -> u32 {
    u32::try_from(text.chars().count().div_ceil(4)).unwrap_or(u32::MAX).max(1)
}

/// Where dataset files may be read from, and how large they may be: the dashboard confines them to one folder
/// (`serve --dataset-dir`) under a size cap (`--dataset-max-mb`); the CLI reads any path its user names. Either way
/// only regular files are read, opened so that a FIFO cannot block and a device cannot stream forever.
#[derive(Debug, Clone)]
pub struct DatasetAccess {
    /// The folder paths are relative to and must stay inside (canonical); `None`: any path, relative to the
    /// working directory.
    root: Option<PathBuf>,
    /// Largest file read, bytes.
    max_bytes: u64,
}

/// Default of `serve --dataset-max-mb`: room for vLLM's ShareGPT V3 file (≈ 670 MB).
pub const DEFAULT_DATASET_MAX_MB: u64 = 1024;

impl DatasetAccess {
    /// The CLI's: any regular file its user can read, of any size.
    pub fn local() -> Self {
        DatasetAccess { root: None, max_bytes: u64::MAX }
    }

    /// Only files inside `root` (made canonical here; it must be a readable folder), at most `max_bytes` long.
    pub fn confined(root: &Path, max_bytes: u64) -> std::io::Result<Self> {
        let root = std::fs::canonicalize(root)?;
        if !root.is_dir() {
            return Err(std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a folder"));
        }
        Ok(DatasetAccess { root: Some(root), max_bytes })
    }

    /// The folder datasets are confined to, if any.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// Largest file read, bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The file `path` names, checked without reading it: inside the folder (no `..`, no symlink out of it), a
    /// regular file, not over the size cap. The error is the message for the run spec's `workload.path`; for a
    /// path outside the folder it is the same whether or not that path exists.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, String> {
        let given = Path::new(path);
        let Some(root) = &self.root else {
            return check_file(given, path, self.max_bytes).map(|()| given.to_path_buf());
        };
        let outside = || {
            format!(
                "must name a file inside the dataset folder {} (`serve --dataset-dir`), e.g. a name relative to it; \
                 copy the file there or upload it on the New run page",
                root.display()
            )
        };
        if given.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
            return Err(outside());
        }
        let joined = if given.is_absolute() { given.to_path_buf() } else { root.join(given) };
        if !joined.starts_with(root) {
            return Err(outside());
        }
        let real = match std::fs::canonicalize(&joined) {
            Ok(real) => real,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let dir = root.display();
                return Err(format!(
                    "no file {path:?} in the dataset folder {dir}: upload it on the New run page, or give a path \
                     under {dir}"
                ));
            }
            Err(_) => return Err(format!("cannot open {path:?} in the dataset folder {}", root.display())),
        };
        if !real.starts_with(root) {
            return Err(outside());
        }
        check_file(&real, path, self.max_bytes)?;
        Ok(real)
    }

    /// The whole file `path` names, as text: [`DatasetAccess::resolve`], then read through a handle opened
    /// non-blocking and checked again (a file swapped for a FIFO in between is still refused), at most `max_bytes`.
    pub fn read(&self, path: &str) -> Result<String, WorkloadError> {
        let bad = |message: String| WorkloadError::Refused { path: path.to_owned(), message };
        let real = self.resolve(path).map_err(bad)?;
        let io = |source| WorkloadError::Io { path: path.to_owned(), source };
        let file = open_nonblocking(&real).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(bad(NOT_REGULAR.into()));
        }
        if meta.len() > self.max_bytes {
            return Err(bad(too_large(meta.len(), self.max_bytes)));
        }
        let mut text = String::new();
        use std::io::Read;
        let read = file.take(self.max_bytes.saturating_add(1)).read_to_string(&mut text);
        read.map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                bad("is not UTF-8 text (a dataset is JSON lines or a ShareGPT JSON file)".into())
            } else {
                io(e)
            }
        })?;
        if text.len() as u64 > self.max_bytes {
            return Err(bad(too_large(text.len() as u64, self.max_bytes)));
        }
        Ok(text)
    }
}

const NOT_REGULAR: &str = "is not a regular file (a folder, FIFO or device cannot be a dataset)";

fn too_large(len: u64, max: u64) -> String {
    format!(
        "is {} MiB; datasets may be at most {} MiB here (`serve --dataset-max-mb`)",
        len.div_ceil(1 << 20),
        max >> 20
    )
}

/// What `std::fs::metadata` says of `real`, as a `workload.path` message when it cannot be a dataset.
fn check_file(real: &Path, shown: &str, max_bytes: u64) -> Result<(), String> {
    match std::fs::metadata(real) {
        Ok(m) if !m.is_file() => Err(NOT_REGULAR.into()),
        Ok(m) if m.len() > max_bytes => Err(too_large(m.len(), max_bytes)),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!("no file {shown:?}")),
        Err(e) => Err(format!("cannot open {shown:?}: {e}")),
    }
}

/// Opens `path` for reading without blocking on a FIFO that has no writer.
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

/// The whole file at `path` (any regular file), as text: the CLI's read.
pub fn read(path: &str) -> Result<String, WorkloadError> {
    DatasetAccess::local().read(path)
}

#[derive(Deserialize)]
struct JsonlLine {
    prompt: Option<String>,
    messages: Option<Vec<ChatMessage>>,
    max_tokens: Option<u32>,
}

/// Parses a JSON-lines dataset: one object per line with `prompt` (text) or `messages` (chat), optional
/// `max_tokens` (else `default_max_tokens`). Blank lines are skipped; any other bad line is an error naming
/// `path:line`.
pub fn parse_jsonl(text: &str, path: &str, default_max_tokens: u32) -> Result<Vec<Prompt>, WorkloadError> {
    let bad = |line: usize, message: String| WorkloadError::Bad { path: path.to_owned(), line, message };
    let mut prompts = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let parsed: JsonlLine = serde_json::from_str(raw).map_err(|e| {
            bad(
                line,
                format!("{e}; expected {{\"prompt\": \"...\"}} or {{\"messages\": [...]}}, optional \"max_tokens\""),
            )
        })?;
        let (body, input_tokens) = match (parsed.prompt, parsed.messages) {
            (Some(p), None) if !p.is_empty() => {
                let n = estimate_tokens(&p);
                (PromptBody::Text(p), n)
            }
            (None, Some(m)) if !m.is_empty() => {
                let n = m.iter().map(|m| estimate_tokens(&m.content)).sum();
                (PromptBody::Chat(m), n)
            }
            (Some(_), Some(_)) => return Err(bad(line, "give either \"prompt\" or \"messages\", not both".into())),
            _ => return Err(bad(line, "needs a non-empty \"prompt\" string or \"messages\" list".into())),
        };
        let max_tokens = match parsed.max_tokens {
            Some(0) => return Err(bad(line, "\"max_tokens\" must be at least 1".into())),
            Some(n) => n,
            None => default_max_tokens,
        };
        prompts.push(Prompt { index: prompts.len() as u64, body, input_tokens, max_tokens });
    }
    if prompts.is_empty() {
        return Err(WorkloadError::Empty { path: path.to_owned(), expected: "one JSON object per line" });
    }
    Ok(prompts)
}

#[derive(Deserialize)]
struct ShareGptEntry {
    #[serde(default)]
    conversations: Vec<ShareGptTurn>,
}

#[derive(Deserialize)]
struct ShareGptTurn {
    from: String,
    value: String,
}

/// Parses a ShareGPT file (`[{"conversations": [{"from": "human", "value": ...}, {"from": "gpt", ...}]}]`): the
/// first human turn of each conversation is a prompt; `max_tokens` is the estimated length of the reply that
/// follows it, else `default_max_tokens`. Conversations without a human turn are skipped.
pub fn parse_sharegpt(text: &str, path: &str, default_max_tokens: u32) -> Result<Vec<Prompt>, WorkloadError> {
    Ok(parse_sharegpt_pairs(text, path, default_max_tokens)?.into_iter().map(|(p, _)| p).collect())
}

/// [`parse_sharegpt`] with each prompt's reply text (when the conversation has one), for counting its tokens.
pub fn parse_sharegpt_pairs(
    text: &str,
    path: &str,
    default_max_tokens: u32,
) -> Result<Vec<(Prompt, Option<String>)>, WorkloadError> {
    let entries: Vec<ShareGptEntry> = serde_json::from_str(text).map_err(|e| WorkloadError::Bad {
        path: path.to_owned(),
        line: e.line(),
        message: format!(
            "{e}; expected a ShareGPT array [{{\"conversations\": [{{\"from\": \"human\", \"value\": \"...\"}}]}}]"
        ),
    })?;
    let mut prompts = Vec::new();
    for entry in entries {
        let turns = &entry.conversations;
        let Some(first) = turns.iter().position(|t| matches!(t.from.as_str(), "human" | "user") && !t.value.is_empty())
        else {
            continue;
        };
        let prompt = &turns[first].value;
        let reply = turns
            .get(first + 1)
            .filter(|t| matches!(t.from.as_str(), "gpt" | "assistant" | "chatgpt" | "bard" | "model"))
            .filter(|t| !t.value.is_empty())
            .map(|t| t.value.clone());
        let max_tokens = reply.as_deref().map_or(default_max_tokens, estimate_tokens);
        let p = Prompt {
            index: prompts.len() as u64,
            body: PromptBody::Text(prompt.clone()),
            input_tokens: estimate_tokens(prompt),
            max_tokens,
        };
        prompts.push((p, reply));
    }
    if prompts.is_empty() {
        return Err(WorkloadError::Empty { path: path.to_owned(), expected: "conversations with a \"human\" turn" });
    }
    Ok(prompts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_prompts_and_messages() {
        let text = "{\"prompt\": \"hello there\", \"max_tokens\": 5}\n\n\
                    {\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n";
        let p = parse_jsonl(text, "d.jsonl", 64).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].body, PromptBody::Text("hello there".into()));
        assert_eq!((p[0].max_tokens, p[0].input_tokens), (5, 3));
        assert!(matches!(&p[1].body, PromptBody::Chat(m) if m[0].content == "hi"));
        assert_eq!((p[1].index, p[1].max_tokens), (1, 64));
    }

    #[test]
    fn jsonl_errors_name_file_and_line() {
        let cases = [
            ("{\"prompt\": \"a\"}\nnot json\n", "d.jsonl:2:", "expected"),
            ("{\"prompt\": \"a\", \"messages\": []}\n", "d.jsonl:1:", "not both"),
            ("{\"text\": \"a\"}\n", "d.jsonl:1:", "non-empty"),
            ("{\"prompt\": \"\"}\n", "d.jsonl:1:", "non-empty"),
            ("{\"prompt\": \"a\", \"max_tokens\": 0}\n", "d.jsonl:1:", "at least 1"),
        ];
        for (text, at, what) in cases {
            let e = parse_jsonl(text, "d.jsonl", 8).unwrap_err().to_string();
            assert!(e.starts_with(at) && e.contains(what), "{e}");
        }
        let e = parse_jsonl("\n\n", "d.jsonl", 8).unwrap_err().to_string();
        assert!(e.contains("no prompts"), "{e}");
    }

    #[test]
    fn sharegpt_first_human_turn_and_reply_length() {
        let text = r#"[
            {"id": "x", "conversations": [{"from": "system", "value": "be nice"},
                {"from": "human", "value": "What is a GPU?"}, {"from": "gpt", "value": "A graphics processor, 12345678"}]},
            {"conversations": [{"from": "gpt", "value": "orphan"}]},
            {"conversations": [{"from": "human", "value": "no reply"}]}
        ]"#;
        let p = parse_sharegpt(text, "s.json", 99).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].body, PromptBody::Text("What is a GPU?".into()));
        assert_eq!(p[0].max_tokens, 8);
        assert_eq!((p[1].index, p[1].max_tokens), (1, 99));
        assert_eq!(crate::engine::workload::prompt_set_sha256(&p).len(), 64);
    }

    #[test]
    fn sharegpt_errors() {
        let e = parse_sharegpt("{\"prompt\": 1}", "s.json", 9).unwrap_err().to_string();
        assert!(e.starts_with("s.json:1:") && e.contains("ShareGPT array"), "{e}");
        let e = parse_sharegpt("[{\"conversations\": []}]", "s.json", 9).unwrap_err().to_string();
        assert!(e.contains("no prompts"), "{e}");
    }

    #[test]
    fn missing_file_is_named() {
        let e = read("/nonexistent/x.jsonl").unwrap_err().to_string();
        assert!(e.contains("/nonexistent/x.jsonl"), "{e}");
    }
}
