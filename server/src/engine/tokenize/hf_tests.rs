//! Tests of tokenizer loading (paths, folders, the Hugging Face cache, download) and of `HfTokenizer`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::error::TokenizerError;
use super::hf::{load_tokenizer_offline, load_tokenizer_with, HfTokenizer};
use super::hub::{is_model_id, HubConfig};
use super::test_util::{self, fixture, load, Reply, BPE, REAL, WORDPIECE};
use super::TOKENIZER_FIX;

fn offline(dir: &Path) -> HubConfig {
    HubConfig::offline_at(dir)
}

fn err(spec: &str, hub: &HubConfig) -> TokenizerError {
    load_tokenizer_offline(spec, hub).expect_err("load should fail")
}

#[test]
fn handle_is_send_sync_and_clone() {
    fn assert_traits<T: Send + Sync + Clone + 'static>() {}
    assert_traits::<HfTokenizer>();
    assert_traits::<super::PromptSynth>();
    assert_traits::<super::ServerTokenizer>();
}

#[test]
fn loads_a_file_and_a_folder() {
    let cache = tempfile::tempdir().unwrap();
    let hub = offline(cache.path());
    let by_file = load_tokenizer_offline(fixture(BPE).to_str().unwrap(), &hub).unwrap();
    assert_eq!(by_file.name(), fixture(BPE).to_str().unwrap());
    assert_eq!(by_file.vocab_size(), 3000);

    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture(BPE), dir.path().join("tokenizer.json")).unwrap();
    let spec = format!("  {}  ", dir.path().display());
    let by_dir = load_tokenizer_offline(&spec, &hub).unwrap();
    assert_eq!(by_dir.name(), dir.path().to_str().unwrap(), "name is the trimmed spec");
    assert_eq!(by_dir.path(), dir.path().join("tokenizer.json"));
    assert_eq!(by_dir.count("the people of the world"), by_file.count("the people of the world"));
}

#[test]
fn count_adds_no_special_tokens_and_decode_round_trips() {
    for name in REAL {
        let tok = load(name);
        let text = "the people of the world";
        let ids = tok.encode_ids(text).unwrap();
        assert_eq!(tok.count(text) as usize, ids.len(), "{name}");
        // The post-processors of the fixtures add BOS/CLS/SEP; count must not.
        let with_special = tok.inner().encode(text, true).unwrap().get_ids().len();
        assert!(with_special >= ids.len(), "{name}");
        if name != test_util::UNIGRAM {
            assert!(with_special > ids.len(), "{name}: the fixture adds special tokens");
        }
        let decoded = tok.decode(&ids).unwrap();
        assert_eq!(decoded.trim(), text, "{name}");
        assert_eq!(tok.count(""), 0, "{name}");
    }
}

#[test]
fn truncation_in_the_file_is_turned_off() {
    let tok = load(WORDPIECE);
    let text = vec!["people"; 500].join(" ");
    assert_eq!(tok.count(&text), 500, "the fixture's truncation at 128 must not cap counts");
}

#[test]
fn clones_share_the_tokenizer_across_threads() {
    let tok = load(BPE);
    let expected = tok.count("the people of the world");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let tok = tok.clone();
            std::thread::spawn(move || tok.count("the people of the world"))
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), expected);
    }
}

#[test]
fn empty_spec() {
    let cache = tempfile::tempdir().unwrap();
    let e = err("   ", &offline(cache.path()));
    assert!(matches!(e, TokenizerError::Empty), "{e}");
    assert!(e.to_string().contains("--tokenizer DIR"), "{e}");
}

#[test]
fn missing_path() {
    let cache = tempfile::tempdir().unwrap();
    let e = err("/no/such/dir/tokenizer.json", &offline(cache.path()));
    assert!(matches!(e, TokenizerError::NotFound { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.starts_with("tokenizer: "), "{msg}");
    assert!(msg.contains("/no/such/dir/tokenizer.json"), "{msg}");
    assert!(msg.contains(TOKENIZER_FIX), "{msg}");
    // A relative path with two slashes is not a model id either.
    let e = err("models/org/name", &offline(cache.path()));
    assert!(matches!(e, TokenizerError::NotFound { .. }), "{e}");
}

#[test]
fn folder_without_tokenizer_json() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), "{}").unwrap();
    let e = err(dir.path().to_str().unwrap(), &offline(cache.path()));
    assert!(matches!(e, TokenizerError::NoTokenizerJson { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    assert!(msg.contains("holds no tokenizer.json"), "{msg}");
    assert!(msg.contains("--tokenizer DIR"), "{msg}");
}

#[test]
fn invalid_json_and_non_tokenizer_json() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (file, content) in [
        ("broken.json", "{ not json"),
        ("empty.json", ""),
        ("other.json", r#"{"architectures": ["LlamaForCausalLM"]}"#),
        ("truncated.json", "{\"version\": \"1.0\", \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0"),
    ] {
        let path = dir.path().join(file);
        std::fs::write(&path, content).unwrap();
        let e = err(path.to_str().unwrap(), &offline(cache.path()));
        assert!(matches!(e, TokenizerError::Invalid { .. }), "{file}: {e}");
        let msg = e.to_string();
        assert!(msg.starts_with("tokenizer: "), "{msg}");
        assert!(msg.contains(file) && msg.contains("is not a valid tokenizer.json"), "{msg}");
    }
    // Random bytes must not panic either.
    let mut bytes = std::fs::read(fixture(BPE)).unwrap();
    bytes.truncate(bytes.len() / 2);
    assert!(HfTokenizer::from_bytes(&bytes, Path::new("half.json"), "half").is_err());
}

#[test]
fn unreadable_tokenizer_json() {
    // A folder whose tokenizer.json is itself a folder: it exists but cannot be read as a file.
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tokenizer.json")).unwrap();
    let e = err(dir.path().to_str().unwrap(), &offline(cache.path()));
    assert!(matches!(e, TokenizerError::Unreadable { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.starts_with("tokenizer: cannot read ") && msg.contains("tokenizer.json"), "{msg}");
}

#[test]
fn model_id_offline_and_not_cached() {
    let cache = tempfile::tempdir().unwrap();
    let e = err("meta-llama/Llama-3.1-8B-Instruct", &offline(cache.path()));
    assert!(matches!(e, TokenizerError::Hub { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("meta-llama/Llama-3.1-8B-Instruct"), "{msg}");
    assert!(msg.contains("HF_HUB_OFFLINE"), "{msg}");
    assert!(msg.contains("models--meta-llama--Llama-3.1-8B-Instruct"), "says which cache folder: {msg}");
    assert!(msg.contains("--tokenizer DIR (a folder holding tokenizer.json) or a tokenizer.json path"), "{msg}");
}

#[tokio::test]
async fn model_id_offline_async_path_never_downloads() {
    let cache = tempfile::tempdir().unwrap();
    let env: HashMap<&str, String> = HashMap::from([
        ("HF_HUB_CACHE", cache.path().display().to_string()),
        ("HF_HUB_OFFLINE", "1".to_string()),
        // Would be used if anything tried the network.
        ("HF_ENDPOINT", "http://127.0.0.1:9".to_string()),
    ]);
    let hub = HubConfig::from_lookup(|k| env.get(k).cloned());
    assert!(hub.offline);
    let e = load_tokenizer_with("org/model", &hub).await.expect_err("offline");
    assert!(e.to_string().contains("--tokenizer DIR"), "{e}");
    assert!(e.to_string().contains("HF_HUB_OFFLINE"), "{e}");
}

/// Lays out `models--org--name` the way huggingface_hub does, with tokenizer.json in snapshot `rev`.
fn fake_cache(cache: &Path, model: &str, rev: &str, main: bool) {
    let repo = cache.join(format!("models--{}", model.replace('/', "--")));
    let snapshot = repo.join("snapshots").join(rev);
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::copy(fixture(BPE), snapshot.join("tokenizer.json")).unwrap();
    if main {
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs/main"), rev).unwrap();
    }
}

#[test]
fn model_id_found_in_cache() {
    let cache = tempfile::tempdir().unwrap();
    fake_cache(cache.path(), "org/model", "0123abcd", true);
    let tok = load_tokenizer_offline("org/model", &offline(cache.path())).unwrap();
    assert_eq!(tok.name(), "org/model");
    assert!(tok.path().ends_with("snapshots/0123abcd/tokenizer.json"), "{}", tok.path().display());

    // A snapshot without refs/main (another revision was fetched) is found too.
    fake_cache(cache.path(), "org/other", "feed", false);
    load_tokenizer_offline("org/other", &offline(cache.path())).unwrap();

    // And the cache folder itself can be given as a folder.
    let repo = cache.path().join("models--org--other");
    load_tokenizer_offline(repo.to_str().unwrap(), &offline(cache.path())).unwrap();
}

#[test]
fn hub_config_reads_the_environment_like_huggingface_hub() {
    let token_dir = tempfile::tempdir().unwrap();
    std::fs::write(token_dir.path().join("token"), "hf_from_file\n").unwrap();
    let home = token_dir.path().display().to_string();

    let env = HashMap::from([("HF_HOME", home.clone()), ("HF_HUB_OFFLINE", "ON".to_string())]);
    let hub = HubConfig::from_lookup(|k| env.get(k).cloned());
    assert_eq!(hub.cache_dir, token_dir.path().join("hub"));
    assert!(hub.offline);
    assert_eq!(hub.token.as_deref(), Some("hf_from_file"));
    assert_eq!(hub.endpoint, "https://huggingface.co");
    assert!(!format!("{hub:?}").contains("hf_from_file"), "Debug hides the token");

    let env = HashMap::from([
        ("HF_HOME", home),
        ("HF_HUB_CACHE", "/elsewhere".to_string()),
        ("HF_TOKEN", "hf_env".to_string()),
        ("HF_HUB_OFFLINE", "0".to_string()),
        ("HF_ENDPOINT", "http://mirror.local/".to_string()),
    ]);
    let hub = HubConfig::from_lookup(|k| env.get(k).cloned());
    assert_eq!(hub.cache_dir, Path::new("/elsewhere"));
    assert!(!hub.offline);
    assert_eq!(hub.token.as_deref(), Some("hf_env"));
    assert_eq!(hub.endpoint, "http://mirror.local");

    let env = HashMap::from([("HOME", "/home/u".to_string()), ("TRANSFORMERS_OFFLINE", "true".to_string())]);
    let hub = HubConfig::from_lookup(|k| env.get(k).cloned());
    assert_eq!(hub.cache_dir, Path::new("/home/u/.cache/huggingface/hub"));
    assert!(hub.offline);
}

#[test]
fn model_id_shape() {
    for id in ["meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen2.5-0.5B", "a/b", "org_x/model.v2"] {
        assert!(is_model_id(id), "{id}");
    }
    for id in ["gpt2", "a/b/c", "/abs", "org/", "/name", "./x", "../x", "org/tokenizer.json", "o r/g", "a\\b", ""] {
        assert!(!is_model_id(id), "{id}");
    }
}

/// Imitates the hub's `resolve` endpoint (ranged GETs, `x-repo-commit`, `etag`) serving `content`, and records
/// the requests.
async fn fake_hub(status: u16, content: Vec<u8>, seen: Arc<Mutex<Vec<String>>>) -> String {
    test_util::serve(move |req| {
        seen.lock().unwrap().push(format!(
            "{} {} auth={}",
            req.method,
            req.path,
            req.header("authorization").is_some()
        ));
        if status != 200 {
            return Reply::json(status, &serde_json::json!({ "error": "nope" }));
        }
        let len = content.len();
        let (start, stop) = req
            .header("range")
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.split_once('-'))
            .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)))
            .unwrap_or((0, len - 1));
        let stop = stop.min(len - 1);
        Reply {
            status: 206,
            headers: vec![
                ("x-repo-commit".into(), "c0ffee".into()),
                ("etag".into(), "\"blobetag\"".into()),
                ("content-range".into(), format!("bytes {start}-{stop}/{len}")),
            ],
            body: content[start..=stop].to_vec(),
        }
    })
    .await
}

#[tokio::test]
async fn model_id_downloaded_once_into_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let endpoint = fake_hub(200, std::fs::read(fixture(BPE)).unwrap(), seen.clone()).await;
    let hub = HubConfig { endpoint, offline: false, token: Some("hf_x".into()), ..HubConfig::offline_at(cache.path()) };

    let tok = load_tokenizer_with("org/model", &hub).await.unwrap();
    assert_eq!(tok.vocab_size(), 3000);
    assert!(tok.path().starts_with(cache.path().join("models--org--model/snapshots/c0ffee")));
    let requests = seen.lock().unwrap().clone();
    assert!(!requests.is_empty());
    assert!(
        requests.iter().all(|r| r.starts_with("GET /org/model/resolve/main/tokenizer.json auth=true")),
        "{requests:?}"
    );

    // Second time: from the cache, even offline.
    let n = seen.lock().unwrap().len();
    load_tokenizer_with("org/model", &hub).await.unwrap();
    load_tokenizer_offline("org/model", &HubConfig::offline_at(cache.path())).unwrap();
    assert_eq!(seen.lock().unwrap().len(), n, "no second download");
}

#[tokio::test]
async fn gated_missing_and_unreachable_models_say_what_to_do() {
    let cache = tempfile::tempdir().unwrap();
    for (status, expect) in [(401, "gated or private"), (403, "HF_TOKEN"), (404, "no such model")] {
        let endpoint = fake_hub(status, Vec::new(), Arc::new(Mutex::new(Vec::new()))).await;
        let hub = HubConfig { endpoint, offline: false, ..HubConfig::offline_at(cache.path()) };
        let e = load_tokenizer_with("org/gated", &hub).await.expect_err("fails");
        let msg = e.to_string();
        assert!(msg.contains(expect), "{status}: {msg}");
        assert!(msg.contains("download from http://127.0.0.1"), "{msg}");
        assert!(msg.contains("--tokenizer DIR"), "{msg}");
    }
    // Nothing listens on port 9 of loopback (discard), so the connection is refused.
    let hub =
        HubConfig { endpoint: "http://127.0.0.1:9".into(), offline: false, ..HubConfig::offline_at(cache.path()) };
    let e = load_tokenizer_with("org/model", &hub).await.expect_err("fails");
    assert!(e.to_string().contains("cannot reach http://127.0.0.1:9"), "{e}");
    assert!(e.to_string().contains("--tokenizer DIR"), "{e}");
}
